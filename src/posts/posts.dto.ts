import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsString, Length, Max, Min } from 'class-validator';
import { MAX_ID } from '../http/parse-id.pipe';

export class CreatePostDto {
  @ApiProperty({ example: 1, minimum: 1 })
  @Max(MAX_ID, { message: 'userId must be a positive integer' })
  @Min(1, { message: 'userId must be a positive integer' })
  @IsInt({ message: 'userId must be a positive integer' })
  userId: number;

  @ApiProperty({ example: 'Hello Redis', minLength: 1, maxLength: 200 })
  @IsString()
  @Length(1, 200)
  title: string;

  @ApiProperty({ example: 'Cache-aside in one decorator.', minLength: 1, maxLength: 10000 })
  @IsString()
  @Length(1, 10_000)
  content: string;
}

export class PostDto {
  @ApiProperty() id: number;
  @ApiProperty() userId: number;
  @ApiProperty() title: string;
  @ApiProperty() content: string;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt: Date;
}
