import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsOptional, IsString, Length, MaxLength } from 'class-validator';

export class CreateUserDto {
  @ApiProperty({ example: 'linus@example.com', maxLength: 254 })
  @IsEmail({}, { message: 'email must be a valid e-mail address' })
  @MaxLength(254)
  email: string;

  @ApiProperty({ example: 'Linus Torvalds', minLength: 1, maxLength: 100 })
  @Length(1, 100)
  @IsString()
  name: string;
}

export class UpdateUserDto {
  @ApiPropertyOptional({ example: 'linus@example.org', maxLength: 254 })
  @IsOptional()
  @IsEmail({}, { message: 'email must be a valid e-mail address' })
  @MaxLength(254)
  email?: string;

  @ApiPropertyOptional({ example: 'Linus B. Torvalds', minLength: 1, maxLength: 100 })
  @IsOptional()
  @Length(1, 100)
  @IsString()
  name?: string;
}

export class UserDto {
  @ApiProperty({ example: 1 }) id: number;
  @ApiProperty({ example: 'ada@example.com' }) email: string;
  @ApiProperty({ example: 'Ada Lovelace' }) name: string;
}
