import { BadRequestException, Controller, Get, Query } from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import { Authenticated, CurrentUser, Identity } from '../auth';
import { ApiStandardResponses } from '../http';
import { isStreamId } from './feed-entries';
import { FeedPageDto, STREAM_ID_PATTERN } from './feed.dto';
import { FeedService } from './feed.service';
import type { FeedPage } from './feed.types';

const COUNT = { min: 1, max: 100, default: 20 };
const BAD_COUNT = `count must be an integer from ${COUNT.min} to ${COUNT.max}`;
const BAD_BEFORE =
  'before must be a stream id `<ms>-<seq>` (the `next` of a previous page), e.g. 1764590400000-0';

/** The signed-in user's activity feed: their own activities and those of the users they follow. */
@ApiTags('feed')
@Controller('api/feed')
@Authenticated()
export class FeedController {
  constructor(private readonly feed: FeedService) {}

  @Get()
  @ApiQuery({
    name: 'count',
    required: false,
    description: 'entries per page',
    schema: { type: 'integer', minimum: COUNT.min, maximum: COUNT.max, default: COUNT.default },
  })
  @ApiQuery({
    name: 'before',
    required: false,
    description: 'exclusive cursor: entries older than this id (the previous page’s `next`)',
    schema: { type: 'string', pattern: STREAM_ID_PATTERN, example: '1764590400000-0' },
  })
  @ApiStandardResponses({
    summary: 'Your activity feed, newest first (Redis Streams, XREVRANGE)',
    description:
      'Your own activities (posts, follows, profile updates) and those of the users you follow, fanned out by the worker. Page with `before` = the previous page’s `next`; each entry appears once.',
    success: { status: 200, description: 'A page of the feed', type: FeedPageDto },
    errors: {
      400: `${BAD_COUNT}, or before is not a stream id`,
      503: 'Redis is unavailable (the feed lives only in Redis)',
    },
    auth: {},
  })
  read(
    @CurrentUser() user: Identity,
    @Query('count') count?: unknown,
    @Query('before') before?: unknown,
  ): Promise<FeedPage> {
    return this.feed.read(user.id, { count: countParam(count), before: beforeParam(before) });
  }
}

function countParam(value: unknown): number {
  if (value === undefined) return COUNT.default;
  if (typeof value !== 'string' || !/^\d{1,3}$/.test(value))
    throw new BadRequestException(BAD_COUNT);
  const n = Number(value);
  if (n < COUNT.min || n > COUNT.max) throw new BadRequestException(BAD_COUNT);
  return n;
}

function beforeParam(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !isStreamId(value)) throw new BadRequestException(BAD_BEFORE);
  return value;
}
