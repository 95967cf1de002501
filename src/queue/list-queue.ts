import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { defineScripts, loadLuaScripts, RedisKeys } from '../redis';
import type { RedisClient } from '../redis';
import {
  ListJobExistsError,
  ListJobLeaseLostError,
  ListJobNotFoundError,
  ListQueueInputError,
} from './list-queue.errors';
import { ListWorker, ListWorkerOptions } from './list-queue.worker';

/** The seed's three job types; one ListQueue carries all of them (the consumer switches on `type`). */
export const LIST_JOB_TYPES = ['email', 'notification', 'report'] as const;
export type ListJobType = (typeof LIST_JOB_TYPES)[number];

/** A delivered job: the payload stored at enqueue plus this delivery's lease token. */
export interface ListJob<T = unknown> {
  readonly id: string;
  readonly type: ListJobType;
  readonly data: T;
  /** Failed attempts so far (0 on the first delivery). */
  readonly attempts: number;
  /** Enqueue time, ms since the epoch (the producer's clock). */
  readonly createdAt: number;
  /** This delivery's lease: `complete`, `retry` and `extend` act only while it is current. */
  readonly token: string;
}

/** A dead letter: the job as it was last delivered, why it failed and when (Redis time, ms). */
export interface ListFailedJob {
  job: Omit<ListJob, 'token'>;
  reason: string;
  failedAt: number;
}

export interface ListQueueOptions {
  /** The app's key builder (`RedisKeys` with the app prefix); the queue's keys live under its `lq` namespace. */
  keys: RedisKeys;
  /** Queue name, the hash tag of all its keys. Default `jobs`. */
  name?: string;
  /** A delivered job not completed, retried or extended within this time goes back to ready. Default 30 s. */
  visibilityTimeoutMs?: number;
  /** Retries after the first failure; the failure after the last retry dead-letters the job. Default 3. */
  maxRetries?: number;
  /** First retry delay; doubles each retry ("equal jitter": each delay is 50–100 % of base·2^(n-1)). Default 1 s. */
  backoffMs?: number;
  /** Ceiling of a retry delay. Default 5 min. */
  maxBackoffMs?: number;
  /** Times a job's lease may expire before it is dead-lettered (a job that kills its consumers). Default 5. */
  maxStalls?: number;
  /** At most this many jobs per step of one reaper run. Default 500. */
  reapBatch?: number;
}

const DEFAULTS = {
  name: 'jobs',
  visibilityTimeoutMs: 30_000,
  maxRetries: 3,
  backoffMs: 1000,
  maxBackoffMs: 300_000,
  maxStalls: 5,
  reapBatch: 500,
};

/** The keys of one ListQueue; all share the `{name}` hash tag (its scripts touch several). */
export interface ListQueueKeys {
  /** list of job ids waiting; LPUSH at enqueue, consumers take from the right (FIFO) */
  ready: string;
  /** list of job ids delivered and not finished */
  processing: string;
  /** sorted set id → lease deadline (ms, Redis time) */
  leases: string;
  /** hash id → token of the delivery holding the lease */
  tokens: string;
  /** hash id → job JSON `{id, type, data, attempts, createdAt}` */
  jobs: string;
  /** sorted set id → due time of the next attempt (ms, Redis time) */
  delayed: string;
  /** hash id → dead letter JSON `{job, reason, failedAt}` */
  failed: string;
  /** hash id → times the job's lease expired */
  stalls: string;
}

/** The one key builder of ListQueue: `${prefix}:lq:{<name>}:<key>`. */
export function listQueueKeys(keys: RedisKeys, name: string): ListQueueKeys {
  const ns = keys.namespace('lq');
  const k = (part: string) => ns.tagged(name, part);
  return {
    ready: k('ready'),
    processing: k('processing'),
    leases: k('leases'),
    tokens: k('tokens'),
    jobs: k('jobs'),
    delayed: k('delayed'),
    failed: k('failed'),
    stalls: k('stalls'),
  };
}

export interface ListReapResult {
  promoted: number;
  reclaimed: number;
  deadLettered: number;
  adopted: number;
}

export type ListRetryResult =
  { state: 'delayed'; dueAt: number; delayMs: number } | { state: 'failed'; failedAt: number };

const JOB_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const MAX_REASON = 1000;
const SCRIPTS = loadLuaScripts(join(__dirname, 'lua')).filter((s) => s.name.startsWith('list'));

/**
 * The seed's hand-written Redis list queue, made reliable: the from-scratch version next to
 * BullMQ (QueueModule), small enough to read in one sitting. At-least-once delivery:
 *
 * - **enqueue**: the job JSON goes into a hash, its id onto the `ready` list (one script).
 * - **take**: while jobs are waiting, `lua/list-take.lua` moves them `ready → processing` and
 *   leases them in one atomic step. On an empty queue a consumer waits with `BLMOVE ready →
 *   processing` on its own blocking connection, then leases the job (`lua/list-lease.lua`). A
 *   consumer dying between the two loses nothing: the reaper adopts processing entries without
 *   a lease (gives them a deadline), so they return to ready after the visibility timeout.
 * - **lease**: a deadline in a sorted set and a random token per delivery. `complete`, `retry`
 *   and `extend` act only with the current token, so a late completion of a job that was
 *   re-delivered cannot remove the new delivery ({@link ListJobLeaseLostError}).
 * - **visibility timeout**: `reap()` (every consumer runs it periodically; idempotent, safe with
 *   several) returns jobs whose lease expired to ready, promotes due retries and adopts orphans.
 * - **retry**: `attempts + 1`, a real delay (a sorted set of due times), exponential with
 *   jitter; after `maxRetries` retries the next failure moves the job to the `failed` hash with
 *   its reason (a dead letter, listed by `failed()`, put back by `requeueFailed()`).
 *
 * A job can run more than once: when its consumer dies (or stalls past the visibility timeout)
 * after doing the work but before `complete`. Handlers must be idempotent, as with BullMQ.
 *
 * @example
 * const queue = new ListQueue(redis.client('state'), { keys: new RedisKeys('nrp') });
 * await queue.enqueue('email', { to: 'a@example.com', subject: 'Hi' });
 * const worker = queue.work(async (job) => send(job.data), {
 *   blocking: redis.createDedicated('blocking', 'list-queue'),
 *   concurrency: 10,
 * });
 * // … on shutdown
 * await worker.close();
 */
export class ListQueue {
  readonly keys: ListQueueKeys;
  readonly options: Readonly<Required<Omit<ListQueueOptions, 'keys'>>>;
  private readonly k: string[];

  constructor(
    readonly client: RedisClient,
    options: ListQueueOptions,
  ) {
    const o = { ...DEFAULTS, ...definedOnly(options) };
    for (const [name, min] of [
      ['visibilityTimeoutMs', 1],
      ['maxRetries', 0],
      ['backoffMs', 1],
      ['maxBackoffMs', 1],
      ['maxStalls', 0],
      ['reapBatch', 1],
    ] as const) {
      if (!Number.isInteger(o[name]) || o[name] < min)
        throw new ListQueueInputError(`ListQueue option ${name} must be an integer ≥ ${min}`);
    }
    this.options = {
      name: o.name,
      visibilityTimeoutMs: o.visibilityTimeoutMs,
      maxRetries: o.maxRetries,
      backoffMs: o.backoffMs,
      maxBackoffMs: o.maxBackoffMs,
      maxStalls: o.maxStalls,
      reapBatch: o.reapBatch,
    };
    this.keys = listQueueKeys(options.keys, o.name);
    const k = this.keys;
    this.k = [k.ready, k.processing, k.leases, k.tokens, k.jobs, k.delayed, k.failed, k.stalls];
    defineScripts(client, SCRIPTS);
  }

  /**
   * Queues a job; returns its id. With `jobId`, a second enqueue of the same id while the job
   * exists (waiting, running, delayed) throws {@link ListJobExistsError}.
   */
  async enqueue<T>(type: ListJobType, data: T, options: { jobId?: string } = {}): Promise<string> {
    if (!(LIST_JOB_TYPES as readonly string[]).includes(type))
      throw new ListQueueInputError(
        `unknown job type "${String(type)}": one of ${LIST_JOB_TYPES.join(', ')}`,
      );
    const id = options.jobId ?? randomUUID();
    if (!JOB_ID.test(id))
      throw new ListQueueInputError('jobId must be 1–128 characters of A–Z a–z 0–9 _ . : -');
    const json = JSON.stringify({
      id,
      type,
      data: data ?? null,
      attempts: 0,
      createdAt: Date.now(),
    });
    const ok = await this.client.listEnqueue(this.keys.ready, this.keys.jobs, id, json);
    if (ok === 0) throw new ListJobExistsError(id);
    return id;
  }

  /** Takes and leases up to `n` waiting jobs at once, without blocking (empty when none wait). */
  async take(n = 1): Promise<ListJob[]> {
    const k = this.keys;
    const flat = await this.client.listTake(
      k.ready,
      k.processing,
      k.leases,
      k.tokens,
      k.jobs,
      n,
      this.options.visibilityTimeoutMs,
      randomBytes(9).toString('base64url'),
    );
    const jobs: ListJob[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) jobs.push(parseJob(flat[i + 2], flat[i + 1]));
    return jobs;
  }

  /**
   * Waits up to `timeoutMs` for a job with `BLMOVE ready → processing` on `blocking` (a
   * dedicated connection: it is blocked meanwhile; `maxRetriesPerRequest: null`), then leases
   * it. Null on timeout, or when the job was not ours to lease any more (see lua/list-lease.lua).
   */
  async waitForJob(blocking: RedisClient, timeoutMs: number): Promise<ListJob | null> {
    const k = this.keys;
    const id = await blocking.blmove(k.ready, k.processing, 'RIGHT', 'LEFT', timeoutMs / 1000);
    if (id === null) return null;
    return this.lease(id);
  }

  /** Leases a job already moved to processing (after BLMOVE). Null when not ours. @internal */
  async lease(id: string): Promise<ListJob | null> {
    const k = this.keys;
    const token = randomBytes(12).toString('base64url');
    const [code, json] = await this.client.listLease(
      k.processing,
      k.leases,
      k.tokens,
      k.jobs,
      id,
      token,
      this.options.visibilityTimeoutMs,
    );
    return code === 1 && json !== undefined ? parseJob(json, token) : null;
  }

  /** Finishes a job: gone from Redis. Throws {@link ListJobLeaseLostError} when this delivery's lease is no longer current. */
  async complete(job: ListJob): Promise<void> {
    const k = this.keys;
    const ok = await this.client.listComplete(
      k.processing,
      k.leases,
      k.tokens,
      k.jobs,
      k.stalls,
      job.id,
      job.token,
    );
    if (ok !== 1) throw new ListJobLeaseLostError(job.id);
  }

  /**
   * A failed attempt: `attempts + 1`; the job waits {@link backoffDelay} in the delayed set
   * (promoted to ready by the reaper when due) or, past `maxRetries` retries, goes to the failed
   * hash with `err`'s message. Throws {@link ListJobLeaseLostError} when the lease is not current.
   */
  async retry(job: ListJob, err: unknown): Promise<ListRetryResult> {
    const k = this.keys;
    const attempts = job.attempts + 1;
    const deadLetter = attempts > this.options.maxRetries;
    const delayMs = deadLetter ? -1 : this.backoffDelay(attempts);
    const json = JSON.stringify({
      id: job.id,
      type: job.type,
      data: job.data,
      attempts,
      createdAt: job.createdAt,
    });
    const reason = (err instanceof Error ? err.message : String(err)).slice(0, MAX_REASON);
    const [code, at] = await this.client.listRetry(
      k.processing,
      k.leases,
      k.tokens,
      k.jobs,
      k.delayed,
      k.failed,
      k.stalls,
      job.id,
      job.token,
      json,
      delayMs,
      reason,
    );
    if (code === 1) return { state: 'delayed', dueAt: Number(at), delayMs };
    if (code === 2) return { state: 'failed', failedAt: Number(at) };
    throw new ListJobLeaseLostError(job.id);
  }

  /** Pushes the lease's deadline a visibility timeout ahead. Throws {@link ListJobLeaseLostError} when not current. */
  async extend(job: ListJob): Promise<void> {
    const ok = await this.client.listExtend(
      this.keys.leases,
      this.keys.tokens,
      job.id,
      job.token,
      this.options.visibilityTimeoutMs,
    );
    if (ok !== 1) throw new ListJobLeaseLostError(job.id);
  }

  /**
   * The delay before retry number `attempt` (1 = first retry): equal jitter, a random value in
   * [c/2, c] with c = min(maxBackoffMs, backoffMs · 2^(attempt-1)). The lowest value of one
   * retry's range is the highest of the previous one's, so delays never shrink below the cap
   * (at the cap they stay within [maxBackoffMs/2, maxBackoffMs]).
   */
  backoffDelay(attempt: number, random = Math.random): number {
    const ceiling = Math.min(
      this.options.maxBackoffMs,
      this.options.backoffMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30),
    );
    return Math.max(1, Math.round(ceiling * (0.5 + random() / 2)));
  }

  /**
   * One maintenance pass (lua/list-reap.lua): due retries → ready, expired leases → ready (or
   * failed after `maxStalls`), unleased processing entries adopted. Every consumer runs it
   * periodically; any number may run it at once.
   */
  async reap(): Promise<ListReapResult> {
    const [promoted, reclaimed, deadLettered, adopted] = await this.client.listReap(
      this.k[0],
      this.k[1],
      this.k[2],
      this.k[3],
      this.k[4],
      this.k[5],
      this.k[6],
      this.k[7],
      this.options.visibilityTimeoutMs,
      this.options.maxStalls,
      this.options.reapBatch,
    );
    return { promoted, reclaimed, deadLettered, adopted };
  }

  /** How many jobs are waiting, being processed, waiting for a retry, dead-lettered. */
  async counts(): Promise<{ ready: number; processing: number; delayed: number; failed: number }> {
    const k = this.keys;
    const [ready, processing, delayed, failed] = await Promise.all([
      this.client.llen(k.ready),
      this.client.llen(k.processing),
      this.client.zcard(k.delayed),
      this.client.hlen(k.failed),
    ]);
    return { ready, processing, delayed, failed };
  }

  /** Dead letters, a page at a time (HSCAN: start with cursor '0', stop when it comes back '0'). */
  async failed(cursor = '0', count = 100): Promise<{ cursor: string; jobs: ListFailedJob[] }> {
    const [next, flat] = await this.client.hscan(this.keys.failed, cursor, 'COUNT', count);
    const jobs: ListFailedJob[] = [];
    for (let i = 1; i < flat.length; i += 2) jobs.push(JSON.parse(flat[i]) as ListFailedJob);
    return { cursor: next, jobs };
  }

  /** One dead letter, or null. */
  async failedJob(id: string): Promise<ListFailedJob | null> {
    const json = await this.client.hget(this.keys.failed, id);
    return json === null ? null : (JSON.parse(json) as ListFailedJob);
  }

  /**
   * Deletes a dead letter (the failed hash has no bound of its own: an operator requeues or
   * removes them). Throws {@link ListJobNotFoundError}.
   */
  async removeFailed(id: string): Promise<void> {
    if ((await this.client.hdel(this.keys.failed, id)) !== 1) throw new ListJobNotFoundError(id);
  }

  /** Puts a dead letter back in ready with attempts reset. Throws {@link ListJobNotFoundError}. */
  async requeueFailed(id: string): Promise<void> {
    const dead = await this.failedJob(id);
    if (!dead) throw new ListJobNotFoundError(id);
    const json = JSON.stringify({ ...dead.job, attempts: 0 });
    const ok = await this.client.listRequeueFailed(
      this.keys.failed,
      this.keys.jobs,
      this.keys.ready,
      id,
      json,
    );
    if (ok !== 1) throw new ListJobNotFoundError(id);
  }

  /**
   * Starts a consumer: `handler` runs for each job (resolve → complete, throw → retry), up to
   * `concurrency` at once. See {@link ListWorker}.
   */
  work(handler: (job: ListJob) => Promise<unknown>, options: ListWorkerOptions): ListWorker {
    return new ListWorker(this, handler, options).start();
  }
}

function parseJob(json: string, token: string): ListJob {
  const j = JSON.parse(json) as Omit<ListJob, 'token'>;
  return {
    id: j.id,
    type: j.type,
    data: j.data,
    attempts: j.attempts,
    createdAt: j.createdAt,
    token,
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
