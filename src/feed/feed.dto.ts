import { ApiProperty } from '@nestjs/swagger';
import { ApiIdProperty } from '../http';
import { FEED_ACTIONS } from './feed.types';

export const STREAM_ID_PATTERN = '^\\d{1,20}-\\d{1,20}$';

export class FeedEntryDto {
  @ApiProperty({
    example: '1764590400000-0',
    pattern: STREAM_ID_PATTERN,
    description: 'the entry’s stream id in this feed (a `before` cursor)',
  })
  id: string;

  @ApiProperty({
    example: 'post.created',
    description: `what happened: ${FEED_ACTIONS.join(', ')} (newer actions may appear)`,
  })
  action: string;

  @ApiIdProperty({ nullable: true, example: 2, description: 'the user who acted' })
  actorId: number | null;

  @ApiIdProperty({
    nullable: true,
    example: 42,
    description: 'the post created, the user followed or the profile updated',
  })
  targetId: number | null;

  @ApiProperty({
    example: '2026-12-01T12:00:00.000Z',
    format: 'date-time',
    description: 'when the activity happened',
  })
  timestamp: string;
}

export class FeedPageDto {
  @ApiProperty({ type: [FeedEntryDto], description: 'newest first' })
  entries: FeedEntryDto[];

  @ApiProperty({
    type: 'string',
    nullable: true,
    pattern: STREAM_ID_PATTERN,
    example: '1764590400000-0',
    description: 'pass as `before` for the next (older) page; null when this page was the last',
  })
  next: string | null;
}
