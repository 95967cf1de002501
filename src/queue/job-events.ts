import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { QueueEvents } from 'bullmq';
import { RateLimitedLogger } from '../common';
import { RedisClient, RedisService } from '../redis';
import { closeWithin, settlesWithin, workerConnection } from './queue-connections';
import { QUEUE_NAMES, QueueName } from './queue.constants';
import { QueueService } from './queue.service';

/** A job that finished: completed (with its result) or failed for good (with the reason). */
export interface JobEvent {
  queue: QueueName;
  jobId: string;
  /** Who queued it, when known (see {@link JobEvents}). */
  userId?: number;
  /** The processor's return value (completed). */
  result?: unknown;
  /** Why it failed (failed: after its last attempt, or an UnrecoverableError). */
  reason?: string;
}

export type JobEventHandler = (event: JobEvent) => void;

/**
 * The completion seam: tells any process (the API role's WebSocket gateway, later) that a job
 * completed or failed for good, with the user who queued it. It reads BullMQ's own per-queue
 * events stream (`<prefix>:<queue>:events`, written by BullMQ's moveToFinished script in the
 * same atomic step that finishes the job) through `QueueEvents`: no command is added to the
 * workers' hot path and no event is lost between a job finishing and its event. The stream is
 * read from the moment of the first subscription (`lastEventId` from the Redis clock), and
 * BullMQ resumes from the last id read after a reconnect.
 *
 * `userId`: a completed event carries the processor's return value, so a processor that returns
 * `{ userId, … }` (ours do) gives it even when the job was already removed by
 * `removeOnComplete`. Otherwise, and for failures, it is read from the job's data (one HGET per
 * event, off the hot path); undefined if the job is gone by then.
 *
 * @example
 * const off = events.onCompleted(({ queue, jobId, userId, result }) => gateway.notify(userId, …));
 */
@Injectable()
export class JobEvents implements BeforeApplicationShutdown {
  private readonly logger = new Logger('Queue');
  private readonly completed = new Set<JobEventHandler>();
  private readonly failed = new Set<JobEventHandler>();
  private readonly readers: { events: QueueEvents; connection: RedisClient }[] = [];
  private started?: Promise<void>;

  constructor(
    private readonly queues: QueueService,
    private readonly redis: RedisService,
  ) {}

  /** Calls `handler` for every job completed from now on; returns the unsubscribe function. */
  onCompleted(handler: JobEventHandler): () => void {
    this.completed.add(handler);
    void this.ready();
    return () => this.completed.delete(handler);
  }

  /** Calls `handler` for every job that fails for good from now on; returns the unsubscribe function. */
  onFailed(handler: JobEventHandler): () => void {
    this.failed.add(handler);
    void this.ready();
    return () => this.failed.delete(handler);
  }

  /** Resolves once the events streams are being read (events from then on are delivered). */
  ready(): Promise<void> {
    this.started ??= this.start();
    return this.started;
  }

  private async start(): Promise<void> {
    const o = this.queues.options;
    const lastEventId = await this.redisNowId();
    const errors = new RateLimitedLogger(this.logger, 10_000);
    for (const queue of QUEUE_NAMES) {
      const connection = workerConnection(
        this.redis.connectionSettings('state'),
        `${o.prefix}:queue:events:${queue}`,
      );
      const events = new QueueEvents(queue, {
        connection,
        prefix: this.queues.prefixOf(queue),
        autorun: true,
        ...(lastEventId ? { lastEventId } : {}),
      });
      events.on('error', (err) => errors.warn(`events of "${queue}": ${err.message}`));
      events.on('completed', ({ jobId, returnvalue }) => {
        void this.deliver(this.completed, queue, jobId, { result: returnvalue }, returnvalue);
      });
      events.on('failed', ({ jobId, failedReason }) => {
        void this.deliver(this.failed, queue, jobId, { reason: failedReason });
      });
      this.readers.push({ events, connection });
    }
    await Promise.all(this.readers.map((r) => r.events.waitUntilReady()));
  }

  /** A stream id for "now" on the Redis clock, so events from this moment on are read. */
  private async redisNowId(): Promise<string | undefined> {
    try {
      const client = this.redis.client('state');
      const [s, us] = (await client.call('TIME')) as [string, string];
      return `${Number(s) * 1000 + Math.floor(Number(us) / 1000)}-0`;
    } catch {
      return undefined; // BullMQ then reads from `$`
    }
  }

  private async deliver(
    handlers: Set<JobEventHandler>,
    queue: QueueName,
    jobId: string,
    fields: Pick<JobEvent, 'result' | 'reason'>,
    returnvalue?: unknown,
  ): Promise<void> {
    if (handlers.size === 0) return;
    const fromResult = (returnvalue as { userId?: unknown } | null | undefined)?.userId;
    const userId =
      typeof fromResult === 'number' ? fromResult : await this.queues.userIdOf(queue, jobId);
    const event: JobEvent = {
      queue,
      jobId,
      ...(userId !== undefined ? { userId } : {}),
      ...fields,
    };
    for (const handler of handlers) {
      try {
        handler(event);
      } catch (err) {
        this.logger.error(`a job event handler failed: ${(err as Error).message}`);
      }
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await settlesWithin(Promise.all(this.readers.map((r) => r.events.close())), 2_000);
    await Promise.all(this.readers.map((r) => closeWithin(r.connection, 1_000)));
    this.readers.length = 0;
  }
}
