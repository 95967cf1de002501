import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { RateLimitedLogger, sleep } from '../common';
import { RedisClient, RedisService } from '../redis';
import { decodeEntry } from './realtime.events';
import { RealtimeGateway } from './realtime.gateway';
import { RealtimeService } from './realtime.service';

/**
 * Reads the event stream for this API instance: `XREAD COUNT n BLOCK ms STREAMS key <last id>` on
 * a blocking connection of its own, from the stream's tail at start-up. After an error or a
 * reconnect it asks again from the last id it has read, so nothing appended meanwhile is missed
 * (as long as the stream was not trimmed past it: `streamMaxLen` entries of slack) and nothing
 * is delivered twice. An entry whose message id was seen recently (a resent XADD) is dropped.
 */
@Injectable()
export class EventStreamReader implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Realtime');
  private readonly errors = new RateLimitedLogger(this.logger, 10_000);
  private connection?: RedisClient;
  private stopped = false;
  private loop?: Promise<void>;
  private lastId?: string;
  private readonly seen = new Map<string, true>();
  private started!: Promise<void>;
  private markStarted!: () => void;

  constructor(
    private readonly realtime: RealtimeService,
    private readonly redis: RedisService,
    private readonly gateway: RealtimeGateway,
  ) {
    this.started = new Promise((resolve) => (this.markStarted = resolve));
  }

  async onApplicationBootstrap(): Promise<void> {
    this.connection = this.redis.createDedicated('blocking', 'realtime-events');
    this.loop = this.run(this.connection);
    // Entries appended once the app is up reach its sockets; a Redis that is down at start-up
    // does not hold the start (the reader starts at the tail once Redis answers).
    await Promise.race([this.started, sleep(3_000, { unref: true })]);
  }

  /** Resolves once the reader knows where the stream's tail is. */
  ready(): Promise<void> {
    return this.started;
  }

  private async run(connection: RedisClient): Promise<void> {
    const key = this.realtime.streamKey;
    const { blockMs } = this.realtime.options;
    while (!this.stopped) {
      try {
        if (this.lastId === undefined) {
          const tail = (await connection.xrevrange(key, '+', '-', 'COUNT', 1)) as [
            string,
            string[],
          ][];
          this.lastId = tail[0]?.[0] ?? '0-0';
          this.markStarted();
        }
        const reply = await connection.xread(
          'COUNT',
          500,
          'BLOCK',
          blockMs,
          'STREAMS',
          key,
          this.lastId,
        );
        for (const [, entries] of reply ?? []) {
          for (const [id, fields] of entries) {
            this.lastId = id;
            this.dispatch(fields);
          }
        }
      } catch (err) {
        if (this.stopped) break;
        this.errors.warn(
          `event stream: ${(err as Error).message}; reading again from ${this.lastId ?? 'the tail'}`,
        );
        await sleep(250);
      }
    }
  }

  private dispatch(fields: string[]): void {
    const entry = decodeEntry(fields);
    if (!entry) return;
    try {
      if (entry.kind === 'disconnect') {
        this.gateway.disconnect(entry);
        return;
      }
      if (this.seen.has(entry.messageId)) return;
      this.seen.set(entry.messageId, true);
      if (this.seen.size > this.realtime.options.dedupeWindow) {
        this.seen.delete(this.seen.keys().next().value as string);
      }
      this.gateway.emitToUser(entry.userId, entry.event, entry.payload);
    } catch (err) {
      this.logger.error(`event stream: delivering an entry failed: ${(err as Error).message}`);
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.connection?.disconnect();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.loop,
      new Promise((r) => {
        timer = setTimeout(r, 2_000);
      }),
    ]);
    clearTimeout(timer);
  }
}
