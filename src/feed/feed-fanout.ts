import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  Optional,
} from '@nestjs/common';
import type { Counter, Histogram } from 'prom-client';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { RateLimitedLogger, sleep } from '../common';
import { MetricsService } from '../metrics';
import type { RedisClient } from '../redis';
import { InjectRedis, isDisconnected, RedisService } from '../redis';
import { decodeActivity, fieldsOf, RawStreamEntry, streamIdMs } from './feed-entries';
import type { ResolvedFeedOptions } from './feed.module-definition';
import { FeedService } from './feed.service';
import type { Activity } from './feed.types';

/** Feeds written at once per activity (one script each, auto-pipelined on the state client). */
const APPEND_CHUNK = 200;

/**
 * The fan-out consumer (worker role, `fanout: true`): reads the activity stream through a
 * consumer group and appends each activity to the actor's feed and every follower's feed.
 *
 * - New entries: `XREADGROUP GROUP <group> <consumer> COUNT <batch> BLOCK <blockMs> … >` on a
 *   blocking connection of its own; the batch is fanned out, then acknowledged with one `XACK`.
 * - A consumer that died (SIGKILL, lost host) leaves its batch pending: every consumer looks for
 *   entries idle longer than `claimIdleMs` with `XAUTOCLAIM` and delivers them again. Appends are
 *   deduplicated per feed by source id, so an entry delivered twice appears once.
 * - An entry that failed `maxDeliveries` times (or that cannot be decoded) goes to the
 *   dead-letter stream with its reason and is acknowledged.
 * - Shutdown: stop reading, finish the batch in hand, acknowledge it, then close the connection.
 */
@Injectable()
export class FeedFanout implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('FeedFanout');
  private readonly failures = new RateLimitedLogger(this.logger, 10_000);
  private readonly o: ResolvedFeedOptions;
  /** This process's consumer name in the group. */
  readonly consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly lag: Histogram;
  private readonly outcomes: Counter<'result'>;
  private reader?: RedisClient;
  private loop?: Promise<void>;
  private stopping = false;
  /** True while waiting in XREADGROUP (no batch in hand). */
  private reading = false;
  /** Ends the back-off pause early (shutdown). */
  private wake?: () => void;
  private groupReady = false;

  constructor(
    private readonly feed: FeedService,
    @InjectRedis('state') private readonly redis: RedisClient,
    private readonly connections: RedisService,
    @Optional() metrics: MetricsService = MetricsService.standalone(),
  ) {
    this.o = feed.options;
    this.lag = metrics.histogram({
      name: 'feed_fanout_lag_seconds',
      help: 'Time from an activity being recorded to its fan-out to every follower feed',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    });
    this.outcomes = metrics.counter({
      name: 'feed_fanout_entries_total',
      help: 'Activities handled by the fan-out: delivered, failed (retried after claim), dead_letter',
      labelNames: ['result'],
    });
    const pending = metrics.gauge({
      name: 'feed_fanout_pending',
      help: 'Activities delivered to a fan-out consumer and not yet acknowledged (consumer group PEL), read at scrape',
      collect: async () => {
        // A lost connection (a Cluster client reconnecting queues commands): absent at once
        // rather than holding the scrape for the bound below.
        if (isDisconnected(this.redis)) return void pending.reset();
        const count = await Promise.race([
          this.pendingCount(),
          sleep(1000, { unref: true }).then(() => null),
        ]);
        if (count === null) pending.reset();
        else pending.set(count);
      },
    });
  }

  onApplicationBootstrap(): void {
    if (!this.o.fanout) return;
    this.reader = this.connections.createDedicated('blocking', 'feed-fanout');
    this.loop = this.run();
    this.logger.log(`fan-out consumer ${this.consumer} started (group ${this.o.group})`);
  }

  /**
   * Before Redis closes (onApplicationShutdown): stop reading, finish and acknowledge the batch
   * in hand, then close the reading connection. A read in progress returns within `blockMs` on
   * a live connection; one waiting for a lost connection would never return, so it is dropped
   * at once (it holds no batch). Bounded either way.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    const loop = this.loop;
    if (!loop) return;
    if (!(this.reading && this.reader?.status !== 'ready')) {
      await Promise.race([loop, sleep(this.o.blockMs + 5_000, { unref: true })]);
    }
    this.reader?.disconnect();
  }

  /** Entries pending in the group (0 when the group does not exist yet), or null when Redis does not answer. */
  async pendingCount(): Promise<number | null> {
    try {
      const summary = (await this.redis.xpending(this.feed.keys.activity, this.o.group)) as [
        number,
        ...unknown[],
      ];
      return Number(summary[0]);
    } catch (err) {
      return /NOGROUP|no such key/i.test((err as Error).message) ? 0 : null;
    }
  }

  private async run(): Promise<void> {
    const claimEveryMs = Math.max(100, Math.min(this.o.claimIdleMs / 2, 5_000));
    let cursor = '0-0';
    let nextClaimAt = 0;
    let backoffMs = 0;
    while (!this.stopping) {
      try {
        await this.ensureGroup();
        if (cursor !== '0-0' || Date.now() >= nextClaimAt) {
          cursor = await this.claim(cursor);
          if (cursor === '0-0') nextClaimAt = Date.now() + claimEveryMs;
          if (this.stopping) break;
        }
        const entries = await this.readNew();
        if (entries.length > 0) await this.handle(entries);
        backoffMs = 0;
      } catch (err) {
        const message = (err as Error).message;
        if (/NOGROUP/.test(message)) this.groupReady = false;
        if (this.stopping) break;
        this.failures.warn(`fan-out: ${message}; retrying`);
        backoffMs = Math.min(backoffMs ? backoffMs * 2 : 100, 5_000);
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, backoffMs).unref();
        });
      }
    }
  }

  /** Creates the group at the stream's start (`0`: activities recorded before it are fanned out too). */
  private async ensureGroup(): Promise<void> {
    if (this.groupReady) return;
    try {
      await this.redis.xgroup('CREATE', this.feed.keys.activity, this.o.group, '0', 'MKSTREAM');
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
    this.groupReady = true;
  }

  private async readNew(): Promise<RawStreamEntry[]> {
    this.reading = true;
    const reply = (await this.reader!.xreadgroup(
      'GROUP',
      this.o.group,
      this.consumer,
      'COUNT',
      this.o.batch,
      'BLOCK',
      this.o.blockMs,
      'STREAMS',
      this.feed.keys.activity,
      '>',
    ).finally(() => (this.reading = false))) as [string, RawStreamEntry[]][] | null;
    return reply?.[0]?.[1] ?? [];
  }

  /**
   * One step of the `XAUTOCLAIM` scan: takes over entries idle longer than `claimIdleMs` (a dead
   * consumer's, or this one's own failures), dead-letters those delivered more than
   * `maxDeliveries` times and fans out the rest. Returns the scan's next cursor (`0-0`: done).
   */
  private async claim(cursor: string): Promise<string> {
    const key = this.feed.keys.activity;
    const [next, claimed] = (await this.redis.xautoclaim(
      key,
      this.o.group,
      this.consumer,
      this.o.claimIdleMs,
      cursor,
      'COUNT',
      this.o.batch,
    )) as [string, RawStreamEntry[], string[]?];
    const entries = claimed.filter((e) => Array.isArray(e) && typeof e[0] === 'string');
    if (entries.length === 0) return next;
    // XAUTOCLAIM counted this delivery; the extended XPENDING tells how many there have been
    // (one exact range per entry: claims are rare, and the commands are pipelined).
    const rows = await Promise.all(
      entries.map(
        ([id]) =>
          this.redis.xpending(key, this.o.group, id, id, 1) as Promise<
            [string, string, number, number][]
          >,
      ),
    );
    const deliveries = new Map(rows.flat().map((r) => [r[0], Number(r[3])]));
    const retry: RawStreamEntry[] = [];
    for (const e of entries) {
      const n = deliveries.get(e[0]) ?? 1;
      if (n > this.o.maxDeliveries) {
        await this.deadLetter(e, `not fanned out after ${n - 1} deliveries`, n - 1);
      } else retry.push(e);
    }
    if (retry.length > 0) await this.handle(retry);
    return next;
  }

  /** Fans out a batch; acknowledges what reached every feed in one `XACK`. Failures stay pending. */
  private async handle(entries: RawStreamEntry[]): Promise<void> {
    const done: string[] = [];
    const forgetBeforeMs = await this.lowWaterMs();
    for (const entry of entries) {
      const [id, fields] = entry;
      const activity = decodeActivity(fields);
      if (!activity) {
        await this.deadLetter(
          entry,
          'malformed activity (actorId, action and targetId required)',
          1,
        );
        continue;
      }
      try {
        await this.fanOut(id, activity, forgetBeforeMs);
        done.push(id);
        this.outcomes.inc({ result: 'delivered' });
        this.lag.observe(Math.max(0, Date.now() - streamIdMs(id)) / 1000);
      } catch (err) {
        this.outcomes.inc({ result: 'failed' });
        this.failures.warn(
          `activity ${id} not fanned out (claimed again after ${this.o.claimIdleMs} ms): ${(err as Error).message}`,
        );
      }
    }
    if (done.length > 0) await this.redis.xack(this.feed.keys.activity, this.o.group, ...done);
  }

  /**
   * The group's low-water mark in ms: no activity older than both the oldest pending entry and
   * the last delivered one can be delivered again (acknowledged entries never come back), so
   * feeds may forget those source ids. 0 when unknown (nothing is forgotten).
   */
  private async lowWaterMs(): Promise<number> {
    const key = this.feed.keys.activity;
    const [summary, groups] = (await Promise.all([
      this.redis.xpending(key, this.o.group),
      this.redis.xinfo('GROUPS', key),
    ])) as [[number, string | null, ...unknown[]], unknown[]];
    const lastDelivered = groups
      .map((g) => fieldsOf(g))
      .find((g) => g.get('name') === this.o.group)
      ?.get('last-delivered-id');
    if (!lastDelivered || lastDelivered === '0-0') return 0;
    const oldestPending = summary[1];
    return Math.min(
      streamIdMs(lastDelivered),
      oldestPending ? streamIdMs(oldestPending) : Infinity,
    );
  }

  private async fanOut(
    sourceId: string,
    activity: Activity,
    forgetBeforeMs: number,
  ): Promise<void> {
    const audience = [
      ...new Set([activity.actorId, ...(await this.o.followersOf(activity.actorId))]),
    ];
    for (let i = 0; i < audience.length; i += APPEND_CHUNK) {
      await Promise.all(
        audience
          .slice(i, i + APPEND_CHUNK)
          .map((u) => this.feed.append(u, sourceId, activity, forgetBeforeMs)),
      );
    }
  }

  /** Copies an entry to the dead-letter stream with why and how often it was tried, then acknowledges it. */
  private async deadLetter(
    entry: RawStreamEntry,
    reason: string,
    deliveries: number,
  ): Promise<void> {
    const [id, fields] = entry;
    await this.redis.xadd(
      this.feed.keys.dead,
      'MAXLEN',
      '~',
      String(this.o.deadMaxLen),
      '*',
      'sourceId',
      id,
      'reason',
      reason,
      'deliveries',
      String(deliveries),
      'consumer',
      this.consumer,
      'fields',
      JSON.stringify(Object.fromEntries(fieldsOf(fields))),
    );
    await this.redis.xack(this.feed.keys.activity, this.o.group, id);
    this.outcomes.inc({ result: 'dead_letter' });
    this.logger.warn(`activity ${id} moved to the dead-letter stream: ${reason}`);
  }
}
