import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { Counter } from 'prom-client';
import { join } from 'node:path';
import { RateLimitedLogger } from '../common';
import { MetricsService } from '../metrics';
import type { RedisClient } from '../redis';
import { defineScripts, InjectRedis, loadLuaScripts, RedisKeys } from '../redis';
import { decodeFeedEntry, feedFields, streamIdMs } from './feed-entries';
import { FeedKeys } from './feed.keys';
import {
  FEED_MODULE_OPTIONS,
  FeedModuleOptions,
  resolveFeedOptions,
  ResolvedFeedOptions,
} from './feed.module-definition';
import type { Activity, FeedEntry, FeedPage } from './feed.types';

/**
 * The activity feed on Redis Streams (state role). `record` writes an activity once to the
 * activity stream (which the fan-out consumer group reads) and at once to the actor's own feed;
 * `read` pages a feed newest first. Every feed write goes through one script per user
 * (`lua/feed-append.lua`: `XADD … MAXLEN ~ n *` plus the source-id dedupe), so a source
 * activity reaches a feed at most once however often it is delivered.
 *
 * @example
 * await feed.record({ actorId: 7, action: 'post.created', targetId: post.id });
 * const page = await feed.read(7, { count: 20, before: '1700000000000-0' });
 */
@Injectable()
export class FeedService {
  private readonly logger = new Logger('Feed');
  private readonly failures = new RateLimitedLogger(this.logger, 10_000);
  readonly keys: FeedKeys;
  readonly options: ResolvedFeedOptions;
  private readonly recordFailures: Counter;
  /**
   * Safety bound on the source ids a feed remembers for deduplication: only reached when more
   * activities reach one feed than this while the fan-out's low-water mark stands still.
   */
  private readonly maxSources: number;

  constructor(
    @InjectRedis('state') private readonly redis: RedisClient,
    keys: RedisKeys,
    @Inject(FEED_MODULE_OPTIONS) options: FeedModuleOptions,
    @Optional() metrics: MetricsService = MetricsService.standalone(),
  ) {
    this.keys = new FeedKeys(keys);
    this.options = resolveFeedOptions(options);
    this.maxSources = Math.max(10 * this.options.maxLen, 10_000);
    defineScripts(this.redis, loadLuaScripts(join(__dirname, 'lua')));
    this.recordFailures = metrics.counter({
      name: 'feed_record_failures_total',
      help: 'Activities that could not be written to the activity stream (Redis unavailable): lost from the feeds',
    });
  }

  /**
   * Records an activity: one `XADD` to the activity stream (fanned out to the actor's followers
   * by the worker), then the actor's own feed at once. Never throws: the domain change it
   * describes has happened already, so a Redis failure is logged and counted, not raised.
   * Returns the activity's id, or null when it could not be recorded.
   */
  async record(activity: Activity): Promise<string | null> {
    let id: string;
    try {
      id = (await this.redis.xadd(
        this.keys.activity,
        'MAXLEN',
        '~',
        String(this.options.activityMaxLen),
        '*',
        'actorId',
        String(activity.actorId),
        'action',
        activity.action,
        'targetId',
        String(activity.targetId),
      )) as string;
    } catch (err) {
      this.recordFailures.inc();
      this.failures.warn(
        `activity ${activity.action} of user ${activity.actorId} not recorded (Redis: ${(err as Error).message})`,
      );
      return null;
    }
    // The fan-out also writes the actor's own feed (deduplicated), so a failure here is repaired.
    await this.append(activity.actorId, id, activity).catch((err: Error) =>
      this.failures.warn(
        `own feed of user ${activity.actorId} not written now (the fan-out will): ${err.message}`,
      ),
    );
    return id;
  }

  /**
   * Appends the activity `sourceId` to a user's feed unless it is there already; publishes the
   * new entry. Returns it, or null for a duplicate delivery. `forgetBeforeMs` (the fan-out's
   * low-water mark: no activity older than it can be delivered again) lets the script drop
   * source ids that can no longer come back.
   */
  async append(
    userId: number,
    sourceId: string,
    activity: Activity,
    forgetBeforeMs = 0,
  ): Promise<FeedEntry | null> {
    const ms = streamIdMs(sourceId);
    const id = await this.redis.feedAppend(
      this.keys.feed(userId),
      this.keys.sources(userId),
      this.options.maxLen,
      sourceId,
      ms,
      forgetBeforeMs,
      this.maxSources,
      ...feedFields(activity, ms),
    );
    if (id === null) return null;
    const entry: FeedEntry = {
      id,
      action: activity.action,
      actorId: activity.actorId,
      targetId: activity.targetId,
      timestamp: new Date(ms).toISOString(),
    };
    this.publish(userId, entry);
    return entry;
  }

  /**
   * A page of a user's feed, newest first (`XREVRANGE`). `before` is exclusive (a stream id,
   * the previous page's `next`); `next` is null once the page is not full. Entries that cannot
   * be decoded are skipped, so a page may hold fewer than `count` entries and still have a `next`.
   */
  async read(userId: number, page: { count: number; before?: string }): Promise<FeedPage> {
    if (page.before === '0-0') return { entries: [], next: null };
    const raw = (await this.redis.xrevrange(
      this.keys.feed(userId),
      page.before === undefined ? '+' : `(${page.before}`,
      '-',
      'COUNT',
      page.count,
    )) as unknown[];
    const entries = raw.map(decodeFeedEntry).filter((e): e is FeedEntry => e !== null);
    const last = raw[raw.length - 1] as [string] | undefined;
    return { entries, next: raw.length === page.count && last ? last[0] : null };
  }

  private publish(userId: number, entry: FeedEntry): void {
    const publisher = this.options.publisher;
    if (!publisher) return;
    try {
      void Promise.resolve(publisher.publish(userId, entry)).catch((err: Error) =>
        this.failures.warn(`feed event for user ${userId} not pushed: ${err.message}`),
      );
    } catch (err) {
      this.failures.warn(`feed event for user ${userId} not pushed: ${(err as Error).message}`);
    }
  }
}
