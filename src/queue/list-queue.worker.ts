import { Logger } from '@nestjs/common';
import { sleep } from '../common';
import { retryDelay } from '../redis';
import type { RedisClient } from '../redis';
import type { ListJob, ListQueue } from './list-queue';
import { ListJobLeaseLostError } from './list-queue.errors';

export interface ListWorkerOptions {
  /**
   * A dedicated connection for `BLMOVE` (blocked while the queue is empty), created with
   * `maxRetriesPerRequest: null` and no command timeout, e.g.
   * `redis.createDedicated('blocking', 'list-queue')`. The worker does not close it.
   */
  blocking: RedisClient;
  /** Jobs run at once. Default 1. */
  concurrency?: number;
  /** Longest BLMOVE wait; also how long `close()` may wait for it. Default 1000. */
  blockTimeoutMs?: number;
  /** How often this consumer runs the reaper. Default min(1000, visibility timeout / 4). */
  reapIntervalMs?: number;
  /** Errors that are not a job's own failure (Redis down, a lost lease); default: logged. */
  onError?: (err: unknown, job?: ListJob) => void;
  /** Called after a job's `complete` succeeded (e.g. metrics, benchmarks). */
  onCompleted?: (job: ListJob) => void;
}

/**
 * One consumer of a {@link ListQueue}: takes jobs while it has free slots (atomic take while
 * jobs wait, BLMOVE when the queue is empty), runs the handler, completes or retries, keeps the
 * leases of running jobs extended (every visibility timeout / 3) and runs the reaper. Redis
 * errors are retried with backoff: the loop never stops on its own.
 */
export class ListWorker {
  /** Jobs completed, retried (including dead-lettered), and finished after their lease was lost. */
  readonly stats = { completed: 0, retried: 0, lost: 0 };
  private readonly logger = new Logger('ListQueue');
  private readonly running = new Map<string, ListJob>();
  private readonly concurrency: number;
  private readonly blockTimeoutMs: number;
  private readonly onError: (err: unknown, job?: ListJob) => void;
  private active = false;
  private loopDone?: Promise<void>;
  private slotFreed?: () => void;
  private timers: NodeJS.Timeout[] = [];
  private reaping = false;

  constructor(
    private readonly queue: ListQueue,
    private readonly handler: (job: ListJob) => Promise<unknown>,
    private readonly options: ListWorkerOptions,
  ) {
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 1));
    this.blockTimeoutMs = Math.max(10, options.blockTimeoutMs ?? 1000);
    this.onError =
      options.onError ??
      ((err, job) =>
        this.logger.warn(
          `${job ? `job ${job.id}: ` : ''}${(err as Error)?.message ?? String(err)}`,
        ));
  }

  /** Jobs in hand now. */
  get inFlight(): number {
    return this.running.size;
  }

  start(): this {
    if (this.active) return this;
    this.active = true;
    const vt = this.queue.options.visibilityTimeoutMs;
    const every = this.options.reapIntervalMs ?? Math.max(10, Math.min(1000, Math.floor(vt / 4)));
    this.timers.push(setInterval(() => void this.reap(), every));
    this.timers.push(setInterval(() => void this.extendAll(), Math.max(10, Math.floor(vt / 3))));
    for (const t of this.timers) t.unref();
    this.loopDone = this.loop();
    return this;
  }

  /**
   * Stops taking jobs and waits for the running ones (at most `drainTimeoutMs`; those still
   * running then keep their lease until it expires and are delivered again). A BLMOVE in
   * progress ends within `blockTimeoutMs`; close the blocking connection after this.
   */
  async close(drainTimeoutMs = 10_000): Promise<void> {
    if (!this.active) return;
    this.active = false;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.slotFreed?.();
    const deadline = Date.now() + drainTimeoutMs;
    await Promise.race([this.loopDone, sleep(this.blockTimeoutMs + 1000, { unref: true })]);
    while (this.running.size > 0 && Date.now() < deadline) await sleep(20);
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (this.active) {
      const free = this.concurrency - this.running.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      try {
        const jobs = await this.queue.take(free);
        if (jobs.length === 0) {
          const job = await this.queue.waitForJob(this.options.blocking, this.blockTimeoutMs);
          if (job) jobs.push(job);
        }
        for (const job of jobs) this.run(job);
        failures = 0;
      } catch (err) {
        if (!this.active) break;
        this.onError(err);
        await sleep(retryDelay(failures++), { unref: true });
      }
    }
  }

  private run(job: ListJob): void {
    this.running.set(job.token, job);
    void this.process(job).finally(() => {
      this.running.delete(job.token);
      const wake = this.slotFreed;
      this.slotFreed = undefined;
      wake?.();
    });
  }

  private async process(job: ListJob): Promise<void> {
    let failure: unknown;
    let ok = false;
    try {
      await this.handler(job);
      ok = true;
    } catch (err) {
      failure = err;
    }
    try {
      if (ok) {
        await this.queue.complete(job);
        this.stats.completed++;
        this.options.onCompleted?.(job);
      } else {
        await this.queue.retry(job, failure);
        this.stats.retried++;
      }
    } catch (err) {
      // Lease lost: another delivery owns the job now. Redis down: the lease expires and the
      // job is delivered again. Either way nothing more to do here (at-least-once).
      if (err instanceof ListJobLeaseLostError) this.stats.lost++;
      this.onError(err, job);
    }
  }

  private async reap(): Promise<void> {
    if (this.reaping) return;
    this.reaping = true;
    try {
      await this.queue.reap();
    } catch (err) {
      this.onError(err);
    } finally {
      this.reaping = false;
    }
  }

  private async extendAll(): Promise<void> {
    await Promise.all(
      [...this.running.values()].map((job) =>
        this.queue.extend(job).catch((err: unknown) => {
          if (!(err instanceof ListJobLeaseLostError)) this.onError(err, job);
        }),
      ),
    );
  }
}
