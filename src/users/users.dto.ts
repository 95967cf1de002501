import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsEmailAddress,
  IsText,
  MAX_EMAIL_LENGTH,
  OptionalField,
  RequiredField,
} from '../http/validators';

const NAME = { min: 1, max: 100 };

export class CreateUserDto {
  @ApiProperty({ example: 'linus@example.com', format: 'email', maxLength: MAX_EMAIL_LENGTH })
  @RequiredField(IsEmailAddress())
  email: string;

  @ApiProperty({ example: 'Linus Torvalds', minLength: NAME.min, maxLength: NAME.max })
  @RequiredField(IsText(NAME))
  name: string;
}

export class UpdateUserDto {
  @ApiPropertyOptional({
    example: 'linus@example.org',
    format: 'email',
    maxLength: MAX_EMAIL_LENGTH,
  })
  @IsEmailAddress()
  @OptionalField()
  email?: string;

  @ApiPropertyOptional({ example: 'Linus B. Torvalds', minLength: NAME.min, maxLength: NAME.max })
  @IsText(NAME)
  @OptionalField()
  name?: string;
}

export class UserDto {
  @ApiProperty({ example: 1 }) id: number;
  @ApiProperty({ example: 'ada@example.com' }) email: string;
  @ApiProperty({ example: 'Ada Lovelace' }) name: string;
}
