import { Inject, Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { sleep } from '../common';
import { MetricsService } from '../metrics';
import type { RedisClient } from '../redis';
import {
  isDisconnected,
  sendDespiteStall,
  InjectRedis,
  RedisKeys,
  defineScripts,
  loadLuaScripts,
} from '../redis';
import { runWithLock } from './lock.context';
import { LockLostError, LockNotAcquiredError, LockUnavailableError } from './lock.errors';
import { LOCK_MODULE_OPTIONS, LockModuleOptions } from './lock.module-definition';
import type { LockOptions } from './lock.types';

export const DEFAULT_LOCK_TTL_MS = 10_000;
/** How long a resource's last fencing token outlives its lease (see lua/lock-acquire.lua). */
const FENCE_MEMORY_MS = 60_000;

/** The owner-checked release script (redis/lua/compare-and-delete.lua), for {@link LockService.abandon}. */
const RELEASE_LUA = loadLuaScripts(join(__dirname, '..', 'redis', 'lua')).find(
  (s) => s.name === 'compareAndDelete',
)!.lua;

/**
 * A held lease. `signal` fires when the lease is lost: an extension found another owner, or the
 * lease ran out locally before an extension succeeded (Redis unreachable). The local deadline is
 * counted from before each acquire/extend command was sent, so it never outlives the Redis key.
 */
export class LockHandle {
  private readonly controller = new AbortController();
  private leaseTimer?: NodeJS.Timeout;
  private extendTimer?: NodeJS.Timeout;
  private released = false;

  constructor(
    private readonly service: LockService,
    readonly resource: string,
    readonly key: string,
    readonly token: string,
    readonly fencingToken: number,
    readonly ttl: number,
    leaseStartedAt: number,
  ) {
    this.armLease(leaseStartedAt + ttl);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get lost(): boolean {
    return this.controller.signal.aborted;
  }

  /** Renews the lease for `ttl` ms. Throws LockLostError (and fires the signal) when it is no longer ours. */
  async extend(ttl = this.ttl): Promise<void> {
    if (this.lost) throw this.controller.signal.reason as LockLostError;
    const sentAt = Date.now();
    const ok = await this.service.extendRaw(this.key, this.token, ttl);
    if (ok) {
      this.armLease(sentAt + ttl);
      return;
    }
    const err = new LockLostError(this.resource, 'it expired or another holder took it');
    this.lose(err);
    throw err;
  }

  /** Renews at `intervalMs` (default ttl/3) until released or lost. */
  startAutoExtend(intervalMs = Math.max(1, Math.floor(this.ttl / 3))): void {
    this.stopAutoExtend();
    this.extendTimer = setInterval(() => {
      // A Redis error is not a loss yet: the lease timer decides if no extension gets through.
      this.extend().catch(() => undefined);
    }, intervalMs);
    this.extendTimer.unref();
  }

  stopAutoExtend(): void {
    if (this.extendTimer) clearInterval(this.extendTimer);
    this.extendTimer = undefined;
  }

  /** Releases the lock if it is still ours (owner-checked: a late release never frees the next holder's lock). */
  async release(): Promise<boolean> {
    if (this.released) return false;
    this.released = true;
    this.stopAutoExtend();
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    return this.service.releaseRaw(this.key, this.token);
  }

  /** @internal */
  lose(err: LockLostError): void {
    if (this.lost) return;
    this.stopAutoExtend();
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    this.service.countLost();
    this.controller.abort(err);
  }

  private armLease(deadline: number): void {
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    this.leaseTimer = setTimeout(
      () =>
        this.lose(
          new LockLostError(this.resource, 'the lease ran out before it could be extended'),
        ),
      Math.max(0, deadline - Date.now()),
    );
    this.leaseTimer.unref();
  }
}

/**
 * Distributed locks on the `state` role: `SET NX PX` with a 128-bit random token and a
 * per-resource fencing token in one script; owner-checked extend and release; automatic
 * extension; an AbortSignal that fires when the lease is lost.
 *
 * Failure policy: **fail closed**. If Redis cannot be reached, `acquire` throws
 * LockUnavailableError (503 at the edge); nothing runs unprotected.
 *
 * Replication is asynchronous: after a failover a lock can be granted twice. Fencing tokens are
 * what keeps the protected data safe then — send them with the write.
 *
 * @example
 * await locks.using('report:daily', { ttl: 10_000 }, async (signal, fence) => build(signal, fence));
 */
@Injectable()
export class LockService implements OnModuleInit {
  private readonly keys: RedisKeys;
  private readonly acquired;
  private readonly lostCounter;

  constructor(
    @InjectRedis('state') private readonly redis: RedisClient,
    keys: RedisKeys,
    @Optional() metrics: MetricsService = MetricsService.standalone(),
    @Inject(LOCK_MODULE_OPTIONS) private readonly options: LockModuleOptions,
  ) {
    this.keys = keys.namespace('lock');
    this.acquired = metrics.counter({
      name: 'lock_acquire_total',
      help: 'Lock acquisitions by result',
      labelNames: ['result'],
    });
    this.lostCounter = metrics.counter({
      name: 'lock_lost_total',
      help: 'Leases lost while their holder was running',
    });
  }

  onModuleInit(): void {
    defineScripts(this.redis, loadLuaScripts(join(__dirname, 'lua')));
  }

  lockKey(resource: string): string {
    return this.keys.tagged(resource);
  }

  /** Where the resource's last fencing token is remembered (same slot as its lock). */
  fenceKey(resource: string): string {
    return this.keys.tagged(resource, 'fence');
  }

  /**
   * Acquires `resource`. Throws LockNotAcquiredError when it stays held for `wait` ms (0: at
   * once), LockUnavailableError when Redis cannot be reached.
   */
  async acquire(resource: string, options: LockOptions = {}): Promise<LockHandle> {
    const ttl = options.ttl ?? this.options.defaultTtlMs ?? DEFAULT_LOCK_TTL_MS;
    const retryDelay = options.retryDelay ?? 50;
    const jitter = options.jitter ?? retryDelay;
    const deadline = Date.now() + (options.wait ?? 0);
    const key = this.lockKey(resource);
    const fenceKey = this.fenceKey(resource);
    const token = randomBytes(16).toString('hex');
    for (;;) {
      if (isDisconnected(this.redis)) {
        this.acquired.inc({ result: 'error' });
        throw new LockUnavailableError(resource, `connection is ${this.redis.status}`);
      }
      const sentAt = Date.now();
      let fence: number;
      try {
        fence = await this.redis.lockAcquire(key, fenceKey, token, ttl, ttl + FENCE_MEMORY_MS);
      } catch (err) {
        this.acquired.inc({ result: 'error' });
        if ((err as Error).message === 'Command timed out') this.abandon(key, token);
        throw new LockUnavailableError(resource, (err as Error).message);
      }
      if (fence > 0) {
        this.acquired.inc({ result: 'acquired' });
        return new LockHandle(this, resource, key, token, fence, ttl, sentAt);
      }
      const pause = retryDelay + Math.floor(Math.random() * (jitter + 1));
      if (Date.now() + pause > deadline) {
        this.acquired.inc({ result: 'contended' });
        throw new LockNotAcquiredError(resource);
      }
      await sleep(pause);
    }
  }

  /**
   * Whether someone holds `resource` now: a read, not an acquisition (the answer may change at
   * once). For a caller that waits on the holder's work by watching its result, and needs to
   * know when the holder has gone without producing it. Throws LockUnavailableError when Redis
   * cannot be reached.
   *
   * @example
   * while (!(await readResult()) && (await locks.isHeld('report:daily'))) await sleep(50);
   */
  async isHeld(resource: string): Promise<boolean> {
    if (isDisconnected(this.redis))
      throw new LockUnavailableError(resource, `connection is ${this.redis.status}`);
    try {
      return (await this.redis.exists(this.lockKey(resource))) === 1;
    } catch (err) {
      throw new LockUnavailableError(resource, (err as Error).message);
    }
  }

  /**
   * Runs `fn` holding `resource`, extending the lease at about ttl/3. If the lease is lost, the
   * signal fires and `using` rejects with LockLostError at once (fn should stop on the signal;
   * its result is discarded). The lock is released in every case.
   */
  async using<T>(
    resource: string,
    options: LockOptions,
    fn: (signal: AbortSignal, fencingToken: number) => Promise<T> | T,
  ): Promise<T> {
    const handle = await this.acquire(resource, options);
    handle.startAutoExtend();
    const lost = new Promise<never>((_, reject) => {
      handle.signal.addEventListener('abort', () => reject(handle.signal.reason as Error), {
        once: true,
      });
    });
    lost.catch(() => undefined);
    try {
      const scope = { resource, signal: handle.signal, fencingToken: handle.fencingToken };
      return await Promise.race([
        runWithLock(scope, () =>
          Promise.resolve().then(() => fn(handle.signal, handle.fencingToken)),
        ),
        lost,
      ]);
    } finally {
      await handle.release().catch(() => undefined);
    }
  }

  /**
   * The caller gave up on an acquisition whose command timed out, but the command may still run
   * when Redis answers again (it was written; a frozen server runs it on waking). Queue an
   * owner-checked release right behind it on the same connection, so a late acquisition frees
   * the lock at once instead of holding it, ownerless, for its whole lease.
   */
  private abandon(key: string, token: string): void {
    sendDespiteStall(this.redis, 'eval', [RELEASE_LUA, 1, key, token]).catch(() => undefined);
  }

  /** @internal */
  async extendRaw(key: string, token: string, ttl: number): Promise<boolean> {
    return (await this.redis.lockExtend(key, token, ttl)) === 1;
  }

  /** @internal */
  async releaseRaw(key: string, token: string): Promise<boolean> {
    return (await this.redis.compareAndDelete(key, token)) === 1;
  }

  /** @internal */
  countLost(): void {
    this.lostCounter.inc();
  }
}
