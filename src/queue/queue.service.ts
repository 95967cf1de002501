import { BeforeApplicationShutdown, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { Job, JobsOptions, Queue } from 'bullmq';
import { createHash, randomUUID } from 'node:crypto';
import { MetricsService } from '../metrics';
import { RedisClient, RedisService } from '../redis';
import { closeWithin, Deadline, producerConnection, settlesWithin } from './queue-connections';
import { isQueueName, QUEUE_NAMES, QueueName, queuePrefix } from './queue.constants';
import {
  JobNotFoundError,
  JobStateConflictError,
  QueueUnavailableError,
  UnknownQueueError,
} from './queue.errors';
import {
  QUEUE_MODULE_OPTIONS,
  QueueModuleOptions,
  ResolvedQueueOptions,
  resolveQueueOptions,
} from './queue.module-definition';

export interface AddJobOptions {
  /** Who queued the job: stored as `data.userId`; only they may read it (`GET /api/jobs/…`). */
  userId?: number;
  /**
   * A client's idempotency key: the same (queue, user, key) within `idempotencyTtlMs` returns the
   * first job's id instead of adding another (BullMQ `deduplication`, atomic in its add script).
   */
  idempotencyKey?: string;
}

export interface AddedJob {
  jobId: string;
  /** True when an earlier job with the same idempotency key was returned instead of a new one. */
  duplicate: boolean;
}

/** A job as the API shows it. */
export interface JobView {
  id: string;
  queue: QueueName;
  state: string;
  name: string;
  userId?: number;
  /** Attempts made so far (failed ones included). */
  attempts: number;
  result?: unknown;
  failedReason?: string;
  createdAt: string;
  finishedAt?: string;
}

/** A failed job (dead letter) as the admin endpoint shows it. */
export interface FailedJobView extends JobView {
  failedReason: string;
  attemptsMade: number;
  /** The first lines of the last failure's stack trace. */
  stacktrace: string[];
}

const STACK_LINES = 5;

/**
 * The producers' side of the queues: one BullMQ `Queue` per name of {@link QUEUE_NAMES} on the
 * `state` role (one shared fail-fast connection), adding, reading and retrying jobs, the
 * `queue_jobs{queue,state}` gauge read at scrape, and the shutdown order: workers first (their
 * drain is registered with {@link beforeClose}), then queues, then the producer connections
 * (RedisService closes its own clients afterwards, in `onApplicationShutdown`).
 *
 * {@link add} goes through a second fail-fast connection, `…:queue:enqueue`, with Queues of its
 * own: no per-command timer there, every add bounded instead by one shared {@link Deadline} of
 * the role's command timeout (the same bound, without the cost of a timer per job). The Queues
 * handed out ({@link queue}, `@InjectQueue`, the dashboard) and the reads keep the producer
 * connection and its per-command timeout.
 */
@Injectable()
export class QueueService implements BeforeApplicationShutdown {
  readonly options: ResolvedQueueOptions;
  private readonly logger = new Logger('Queue');
  private readonly producer: RedisClient;
  private readonly queues = new Map<QueueName, Queue>();
  /** The enqueue path: its own connection and Queues, bounded by {@link deadline}. */
  private readonly enqueuer: RedisClient;
  private readonly adders = new Map<QueueName, Queue>();
  private readonly deadline: Deadline;
  private readonly closeFirst: (() => Promise<void>)[] = [];

  constructor(
    @Inject(QUEUE_MODULE_OPTIONS) options: QueueModuleOptions,
    private readonly redis: RedisService,
    @Optional() metrics: MetricsService = MetricsService.standalone(),
  ) {
    this.options = resolveQueueOptions(options);
    const settings = redis.connectionSettings('state');
    this.producer = producerConnection(settings, `${options.prefix}:queue:producer`);
    this.enqueuer = producerConnection(settings, `${options.prefix}:queue:enqueue`, {
      commandTimeout: null,
    });
    this.deadline = new Deadline(settings.commandTimeoutMs);
    const o = this.options;
    const queueOf = (name: QueueName, connection: RedisClient): Queue => {
      const queue = new Queue(name, {
        connection,
        prefix: this.prefixOf(name),
        defaultJobOptions: {
          attempts: o.attempts,
          backoff: { type: 'exponential', delay: o.backoffMs, jitter: o.backoffJitter },
          removeOnComplete: { count: o.keepCompleted, age: Math.ceil(o.keepAgeMs / 1000) },
          removeOnFail: { count: o.keepFailed, age: Math.ceil(o.keepAgeMs / 1000) },
        },
      });
      queue.on('error', () => undefined); // logged once per connection (queue-connections.ts)
      return queue;
    };
    for (const name of QUEUE_NAMES) {
      this.queues.set(name, queueOf(name, this.producer));
      this.adders.set(name, queueOf(name, this.enqueuer));
    }
    const counts = metrics.gauge({
      name: 'queue_jobs',
      help: 'Jobs per queue and state, read from Redis at scrape (absent while Redis is unavailable)',
      labelNames: ['queue', 'state'],
      collect: async () => {
        counts.reset();
        if (this.producer.status !== 'ready') return;
        const read = Promise.all(
          [...this.queues].map(async ([name, q]) => {
            const c = await q.getJobCounts(...JOB_COUNT_STATES);
            for (const state of JOB_COUNT_STATES) counts.set({ queue: name, state }, c[state] ?? 0);
          }),
        );
        read.catch(() => undefined);
        // A dead or stalled Redis must not slow /metrics down.
        await settlesWithin(read, o.metricsTimeoutMs);
      },
    });
  }

  /** BullMQ `prefix` of a queue (`{<app prefix>:<queue>}`): for raw BullMQ clients of the same queues. */
  prefixOf(name: QueueName): string {
    return queuePrefix(this.options.prefix, name);
  }

  /** The BullMQ Queue of a name (also injectable with `@InjectQueue(name)`). */
  queue(name: string): Queue {
    const q = isQueueName(name) ? this.queues.get(name) : undefined;
    if (!q) throw new UnknownQueueError(name);
    return q;
  }

  /**
   * Adds a job. Fails fast with {@link QueueUnavailableError} (503) when Redis is unreachable,
   * and within the role's command timeout when it does not answer.
   *
   * @example
   * const { jobId } = await queues.add('report', 'daily', {}, { userId: user.id, idempotencyKey });
   */
  add<T extends object>(
    queue: QueueName,
    name: string,
    data: T,
    opts: AddJobOptions = {},
  ): Promise<AddedJob> {
    const q = isQueueName(queue) ? this.adders.get(queue) : undefined;
    if (!q) return Promise.reject(new UnknownQueueError(queue));
    if (this.enqueuer.status !== 'ready')
      return Promise.reject(
        new QueueUnavailableError(`redis connection is ${this.enqueuer.status}`),
      );
    const payload: object = opts.userId === undefined ? data : { ...data, userId: opts.userId };
    // The common case in one promise reaction: this runs once per job.
    if (opts.idempotencyKey === undefined) return this.bounded(q.add(name, payload)).then(newJob);
    return this.addIdempotent(q, queue, name, payload, opts.userId, opts.idempotencyKey);
  }

  private async addIdempotent(
    q: Queue,
    queue: QueueName,
    name: string,
    data: object,
    userId: number | undefined,
    idempotencyKey: string,
  ): Promise<AddedJob> {
    const nonce = randomUUID();
    const jobOpts: JobsOptions = {
      deduplication: {
        id: idempotencyId(queue, userId, idempotencyKey),
        ttl: this.options.idempotencyTtlMs,
      },
    };
    const job = await this.bounded(q.add(name, { ...data, requestNonce: nonce }, jobOpts));
    // A deduplicated add returns the FIRST job's id (BullMQ's add script answers it instead of
    // storing the new job). Whether it was ours: that job's data carries our nonce.
    const stored = await this.bounded(this.enqueuer.hget(q.toKey(job.id!), 'data'));
    return { jobId: job.id!, duplicate: !stored?.includes(nonce) };
  }

  /** A job, or undefined. */
  async get(queue: QueueName, id: string): Promise<JobView | undefined> {
    const q = this.queue(queue);
    this.assertConnected();
    return this.guard(async () => {
      // State first: a job read after it is a snapshot at least as new (never "completed"
      // without its result when it finishes in between).
      const state = await q.getJobState(id);
      const job = await Job.fromId(q, id);
      return job ? view(queue, job, state) : undefined;
    });
  }

  /** Failed jobs (dead letters), newest first, and how many there are. */
  async failed(
    queue: QueueName,
    start: number,
    count: number,
  ): Promise<{ total: number; jobs: FailedJobView[] }> {
    const q = this.queue(queue);
    this.assertConnected();
    return this.guard(async () => {
      const [jobs, total] = await Promise.all([
        q.getFailed(start, start + count - 1),
        q.getFailedCount(),
      ]);
      return {
        total,
        jobs: jobs.filter(Boolean).map((job) => ({
          ...view(queue, job, 'failed'),
          failedReason: job.failedReason ?? '',
          attemptsMade: job.attemptsMade,
          stacktrace: (job.stacktrace?.at(-1) ?? '').split('\n').slice(0, STACK_LINES),
        })),
      };
    });
  }

  /**
   * Moves a failed job back to waiting with fresh attempts. {@link JobNotFoundError} when it does
   * not exist, {@link JobStateConflictError} (409) when it is not failed.
   */
  async retry(queue: QueueName, id: string): Promise<JobView> {
    const q = this.queue(queue);
    this.assertConnected();
    return this.guard(async () => {
      const job = await Job.fromId(q, id);
      if (!job) throw new JobNotFoundError(queue, id);
      const state = await job.getState();
      if (state !== 'failed')
        throw new JobStateConflictError(
          `Job ${id} is ${state}, not failed: only failed jobs can be retried`,
          {
            queue,
            id,
            state,
          },
        );
      try {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      } catch (err) {
        // A concurrent retry (or removal) got there between the state read and this script.
        const message = (err as Error).message;
        if (/not in the \w+ state/.test(message))
          throw new JobStateConflictError(
            `Job ${id} is no longer failed: it was retried meanwhile`,
            {
              queue,
              id,
            },
          );
        if (/Missing key/.test(message)) throw new JobNotFoundError(queue, id);
        throw err;
      }
      return view(queue, job, 'waiting');
    });
  }

  /** Who queued a job (its `data.userId`), read from Redis; undefined when unknown or removed. */
  async userIdOf(queue: QueueName, id: string): Promise<number | undefined> {
    if (this.producer.status !== 'ready') return undefined;
    try {
      const data = await this.producer.hget(this.queue(queue).toKey(id), 'data');
      const userId = data ? (JSON.parse(data) as { userId?: unknown }).userId : undefined;
      return typeof userId === 'number' ? userId : undefined;
    } catch {
      return undefined;
    }
  }

  /** Runs `fn` on shutdown before the queues close (the workers' drain). */
  beforeClose(fn: () => Promise<void>): void {
    this.closeFirst.push(fn);
  }

  async beforeApplicationShutdown(): Promise<void> {
    for (const fn of this.closeFirst) await fn();
    const all = [...this.queues.values(), ...this.adders.values()];
    const closing = Promise.all(all.map((q) => q.close()));
    if (!(await settlesWithin(closing, 2_000)))
      this.logger.warn('queues did not close within 2 s (Redis unreachable?): disconnecting');
    await Promise.all([closeWithin(this.producer, 1_000), closeWithin(this.enqueuer, 1_000)]);
  }

  private assertConnected(): void {
    if (this.producer.status !== 'ready')
      throw new QueueUnavailableError(`redis connection is ${this.producer.status}`);
  }

  /** An enqueue-path command within the role's command timeout; Redis failures become 503. */
  private bounded<T>(work: Promise<T>): Promise<T> {
    return this.deadline.bound(work, unavailable);
  }

  /** Redis failures become 503; the module's own errors pass through. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof JobNotFoundError || err instanceof JobStateConflictError) throw err;
      throw new QueueUnavailableError((err as Error).message);
    }
  }
}

const unavailable = (err: Error): Error => new QueueUnavailableError(err.message);
const newJob = (job: Job): AddedJob => ({ jobId: job.id!, duplicate: false });

const JOB_COUNT_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;

/** The deduplication id of an idempotency key: hashed, so any key is a bounded, safe key part. */
export function idempotencyId(queue: string, userId: number | undefined, key: string): string {
  return createHash('sha256')
    .update(`${queue}\n${userId ?? ''}\n${key}`)
    .digest('base64url')
    .slice(0, 32);
}

function view(queue: QueueName, job: Job, state: string): JobView {
  const userId = (job.data as { userId?: unknown } | undefined)?.userId;
  return {
    id: job.id!,
    queue,
    name: job.name,
    state,
    ...(typeof userId === 'number' ? { userId } : {}),
    attempts: job.attemptsMade,
    ...(job.returnvalue !== undefined && job.returnvalue !== null
      ? { result: job.returnvalue }
      : {}),
    ...(job.failedReason ? { failedReason: job.failedReason } : {}),
    createdAt: new Date(job.timestamp).toISOString(),
    ...(job.finishedOn ? { finishedAt: new Date(job.finishedOn).toISOString() } : {}),
  };
}
