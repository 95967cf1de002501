import { Logger } from '@nestjs/common';
import { RateLimitedLogger } from '../common';
import { createRedisClient, RedisClient, ResolvedConnection } from '../redis';

/**
 * BullMQ's connections, built from the `state` role's settings (RedisService.connectionSettings):
 * never the project's StallBreaker or command timeout on worker connections (blocking commands
 * must wait, and the breaker costs ~25 µs per command in the hot path), no ioredis `keyPrefix`.
 */
export function workerConnection(settings: ResolvedConnection, name: string): RedisClient {
  return logged(
    createRedisClient(settings, {
      name,
      maxRetriesPerRequest: null, // BullMQ requires it for workers: retry commands forever
      commandTimeout: null,
      enableAutoPipelining: false,
    }),
    name,
  );
}

/**
 * The producers' connection: fails fast when Redis is unreachable (no offline queue, one retry)
 * and bounds every command by the role's command timeout, so an enqueue answers 503 instead of
 * hanging. `commandTimeout: null` for the enqueue connection, whose adds are bounded by one
 * shared {@link Deadline} instead (ioredis arms and clears a timer per command, the enqueue hot
 * path's largest cost of its own: see the README's queue benchmark).
 */
export function producerConnection(
  settings: ResolvedConnection,
  name: string,
  { commandTimeout }: { commandTimeout?: null } = {},
): RedisClient {
  return logged(
    createRedisClient(settings, {
      name,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      enableAutoPipelining: false,
      ...(commandTimeout === null ? { commandTimeout: null } : {}),
    }),
    name,
  );
}

/** What {@link Deadline} rejects a promise with once its time is up. */
export class DeadlineExceededError extends Error {
  constructor(ms: number) {
    super(`redis did not answer within ${ms} ms`);
    this.name = 'DeadlineExceededError';
  }
}

interface Bounded {
  due: number;
  /** Undefined once settled (or expired). */
  reject: ((err: Error) => void) | undefined;
  failure: (err: Error) => Error;
}

/**
 * Bounds many in-flight promises by the same `ms` with one timer for all of them, not one per
 * promise. Every bound has the same length, so the oldest pending promise is always the next to
 * expire: the timer waits for it, rejects what is due and re-arms for the next (about once per
 * `ms` under steady load). The work itself is not cancelled (as with ioredis's command timeout,
 * a late reply is dropped).
 */
export class Deadline {
  private readonly pending: Bounded[] = [];
  private timer?: NodeJS.Timeout;

  constructor(readonly ms: number) {}

  /**
   * `work`, or a rejection with `failure(DeadlineExceededError)` once `ms` have passed; `work`'s
   * own rejection passes through `failure` too.
   */
  bound<T>(work: Promise<T>, failure: (err: Error) => Error = (err) => err): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Bounded = { due: performance.now() + this.ms, reject, failure };
      this.pending.push(entry);
      this.timer ??= this.arm(this.ms);
      work.then(
        (value) => {
          this.settle(entry);
          resolve(value);
        },
        (err: Error) => {
          this.settle(entry);
          reject(failure(err));
        },
      );
    });
  }

  private settle(entry: Bounded): void {
    entry.reject = undefined;
    const q = this.pending;
    while (q.length > 0 && q[0].reject === undefined) q.shift();
  }

  private arm(ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.expire(), ms);
    timer.unref();
    return timer;
  }

  private expire(): void {
    this.timer = undefined;
    const now = performance.now();
    const q = this.pending;
    while (q.length > 0 && (q[0].reject === undefined || q[0].due <= now)) {
      const entry = q.shift()!;
      const reject = entry.reject;
      entry.reject = undefined;
      reject?.(entry.failure(new DeadlineExceededError(this.ms)));
    }
    if (q.length > 0) this.timer = this.arm(Math.max(1, Math.ceil(q[0].due - now)));
  }
}

function logged(client: RedisClient, name: string): RedisClient {
  const errors = new RateLimitedLogger(new Logger('Queue'), 10_000);
  client.on('error', (err: Error) => errors.warn(`redis ${name}: ${err.message}`));
  return client;
}

/** Resolves true when `p` settles within `ms`, false otherwise (`p` keeps running). */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Closes a client: QUIT within `ms`, else a hard disconnect (a dead Redis never answers QUIT). */
export async function closeWithin(client: RedisClient, ms: number): Promise<void> {
  if (client.status === 'ready') await settlesWithin(client.quit(), ms);
  if (client.status !== 'end') client.disconnect();
}
