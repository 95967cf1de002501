import { ApiProperty } from '@nestjs/swagger';
import { ApiIdProperty, IsId, IsText, RequiredField } from '../http';

const TITLE = { min: 1, max: 200 };
const CONTENT = { min: 1, max: 10_000, multiline: true };

export class CreatePostDto {
  @ApiIdProperty({ example: 1, description: 'the author: an existing user' })
  @RequiredField(IsId())
  userId: number;

  @ApiProperty({
    example: 'Hello Redis',
    minLength: TITLE.min,
    maxLength: TITLE.max,
    description: 'one line: no control characters, not blank',
  })
  @RequiredField(IsText(TITLE))
  title: string;

  @ApiProperty({
    example: 'Cache-aside in one decorator.',
    minLength: CONTENT.min,
    maxLength: CONTENT.max,
    description: 'text: tab and line breaks allowed, other control characters not; not blank',
  })
  @RequiredField(IsText(CONTENT))
  content: string;
}

export class PostDto {
  @ApiIdProperty({ example: 7 }) id: number;
  @ApiIdProperty({ example: 1 }) userId: number;
  @ApiProperty({ example: 'Hello Redis' }) title: string;
  @ApiProperty({ example: 'Cache-aside in one decorator.' }) content: string;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt: Date;
}

/** `GET /api/users/:id/stats` (the schema keeps its name from when the route lived in users). */
export class UserStatsDto {
  @ApiProperty({ type: 'integer', minimum: 0, example: 3, description: 'posts the user wrote' })
  postCount: number;
}
