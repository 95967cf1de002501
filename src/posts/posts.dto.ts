import { ApiProperty } from '@nestjs/swagger';
import { IsId, IsText, RequiredField } from '../http/validators';

export class CreatePostDto {
  @ApiProperty({ example: 1, minimum: 1 })
  @RequiredField(IsId())
  userId: number;

  @ApiProperty({ example: 'Hello Redis', minLength: 1, maxLength: 200 })
  @RequiredField(IsText({ min: 1, max: 200 }))
  title: string;

  @ApiProperty({ example: 'Cache-aside in one decorator.', minLength: 1, maxLength: 10000 })
  @RequiredField(IsText({ min: 1, max: 10_000, multiline: true }))
  content: string;
}

export class PostDto {
  @ApiProperty() id: number;
  @ApiProperty() userId: number;
  @ApiProperty() title: string;
  @ApiProperty() content: string;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt: Date;
}
