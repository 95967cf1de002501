// Typed commands for ListQueue's scripts in ./lua/list-*.lua (registered by ListQueue on the
// client it is given). Replies as the scripts' headers describe.
import 'ioredis';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** lua/list-enqueue.lua: 1 queued, 0 the id exists. */
    listEnqueue(ready: string, jobs: string, id: string, json: string): Result<number, Context>;
    /** lua/list-take.lua: flat [id, token, json, …], at most `n` jobs. */
    listTake(
      ready: string,
      processing: string,
      leases: string,
      tokens: string,
      jobs: string,
      n: number,
      visibilityMs: number,
      tokenBase: string,
    ): Result<string[], Context>;
    /** lua/list-lease.lua: [1, json] leased, [0] not ours. */
    listLease(
      processing: string,
      leases: string,
      tokens: string,
      jobs: string,
      id: string,
      token: string,
      visibilityMs: number,
    ): Result<[number, string?], Context>;
    /** lua/list-extend.lua: 1 extended, 0 lease not held. */
    listExtend(
      leases: string,
      tokens: string,
      id: string,
      token: string,
      visibilityMs: number,
    ): Result<number, Context>;
    /** lua/list-complete.lua: 1 completed, 0 lease not held. */
    listComplete(
      processing: string,
      leases: string,
      tokens: string,
      jobs: string,
      stalls: string,
      id: string,
      token: string,
    ): Result<number, Context>;
    /** lua/list-retry.lua: [1, due ms] scheduled, [2, failedAt ms] dead-lettered, [0] lease not held. */
    listRetry(
      processing: string,
      leases: string,
      tokens: string,
      jobs: string,
      delayed: string,
      failed: string,
      stalls: string,
      id: string,
      token: string,
      json: string,
      delayMs: number,
      reason: string,
    ): Result<[number, number?], Context>;
    /** lua/list-reap.lua: [promoted, reclaimed, dead-lettered, adopted]. */
    listReap(
      ready: string,
      processing: string,
      leases: string,
      tokens: string,
      jobs: string,
      delayed: string,
      failed: string,
      stalls: string,
      visibilityMs: number,
      maxStalls: number,
      limit: number,
    ): Result<[number, number, number, number], Context>;
    /** lua/list-requeue-failed.lua: 1 requeued, 0 no such failed job. */
    listRequeueFailed(
      failed: string,
      jobs: string,
      ready: string,
      id: string,
      json: string,
    ): Result<number, Context>;
  }
}
