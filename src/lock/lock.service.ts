import { Inject, Injectable, Optional } from '@nestjs/common';
import { randomFillSync } from 'node:crypto';
import { join } from 'node:path';
import { sleep } from '../common';
import { MetricsService } from '../metrics';
import type { RedisClient } from '../redis';
import {
  DirectScript,
  isDisconnected,
  sendDespiteStall,
  InjectRedis,
  RedisKeys,
  loadDirectScripts,
} from '../redis';
import { runWithLock } from './lock.context';
import { LockLostError, LockNotAcquiredError, LockUnavailableError } from './lock.errors';
import { lockTally, LockTally } from './lock.metrics';
import { LOCK_MODULE_OPTIONS, LockModuleOptions } from './lock.module-definition';
import type { LockOptions } from './lock.types';

export const DEFAULT_LOCK_TTL_MS = 10_000;
/** How long a resource's last fencing token outlives its lease (see lua/lock-acquire.lua). */
const FENCE_MEMORY_MS = 60_000;

interface LockScripts {
  acquire: DirectScript;
  extend: DirectScript;
  /** The owner-checked release (redis/lua/compare-and-delete.lua). */
  release: DirectScript;
}

let scripts: LockScripts | undefined;

/** Read on first use (not when the module is imported), once per process. */
function lockScripts(): LockScripts {
  if (!scripts) {
    const own = loadDirectScripts(join(__dirname, 'lua'));
    const shared = loadDirectScripts(join(__dirname, '..', 'redis', 'lua'));
    scripts = {
      acquire: own.get('lockAcquire')!,
      extend: own.get('lockExtend')!,
      release: shared.get('compareAndDelete')!,
    };
  }
  return scripts;
}

const TOKEN_BYTES = 16;
/** Random bytes for this many tokens are drawn at once (one CSPRNG call instead of one per lock). */
const TOKENS_PER_DRAW = 256;
const tokenPool = Buffer.alloc(TOKEN_BYTES * TOKENS_PER_DRAW);
let tokenOffset = tokenPool.length;

/**
 * A holder's token: 128 bits from the CSPRNG (`crypto.randomFillSync`), drawn in batches like
 * Node's own `randomUUID` cache: `randomBytes(16)` per lock was about a tenth of the client's
 * CPU per acquire + release. Each byte is handed out once.
 */
function nextToken(): string {
  if (tokenOffset === tokenPool.length) {
    randomFillSync(tokenPool);
    tokenOffset = 0;
  }
  const token = tokenPool.toString('hex', tokenOffset, tokenOffset + TOKEN_BYTES);
  tokenOffset += TOKEN_BYTES;
  return token;
}

/**
 * A held lease. `signal` fires when the lease is lost: an extension found another owner, or the
 * lease ran out locally before an extension succeeded (Redis unreachable). The local deadline is
 * counted from before each acquire/extend command was sent, so it never outlives the Redis key.
 *
 * The AbortController and the lease timer are made when someone can act on a loss: on the first
 * read of `signal`, or when auto-extension starts (`using`, `@WithLock`). A plain acquire +
 * release makes neither; `lost`, `extend()` and `release()` compare the clock with the deadline,
 * so a lease that ran out is still seen (and counted in `lock_lost_total`) there.
 */
export class LockHandle {
  private controller?: AbortController;
  private lostReason?: LockLostError;
  /** Local end of the lease, ms since the epoch. */
  private deadline: number;
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
    this.deadline = leaseStartedAt + ttl;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      this.checkLease();
      if (this.lostReason) this.controller.abort(this.lostReason);
      else this.watchLease();
    }
    return this.controller.signal;
  }

  get lost(): boolean {
    this.checkLease();
    return this.lostReason !== undefined;
  }

  /** Renews the lease for `ttl` ms. Throws LockLostError (and fires the signal) when it is no longer ours. */
  async extend(ttl = this.ttl): Promise<void> {
    if (this.lost) throw this.lostReason!;
    const sentAt = Date.now();
    const ok = await this.service.extendRaw(this.key, this.token, ttl);
    if (ok) {
      this.renew(sentAt + ttl);
      return;
    }
    const err = new LockLostError(this.resource, 'it expired or another holder took it');
    this.lose(err);
    throw err;
  }

  /** Renews at `intervalMs` (default ttl/3) until released or lost. */
  startAutoExtend(intervalMs = Math.max(1, Math.floor(this.ttl / 3))): void {
    this.stopAutoExtend();
    if (this.released || this.lost) return;
    this.watchLease();
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
  release(): Promise<boolean> {
    if (this.released) return Promise.resolve(false);
    this.checkLease(); // a lease that ran out while held is a lost lease, watched or not
    this.released = true;
    this.stopAutoExtend();
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    this.leaseTimer = undefined;
    return this.service.releaseRaw(this.key, this.token);
  }

  /** @internal */
  lose(err: LockLostError): void {
    if (this.lostReason) return;
    this.lostReason = err;
    this.stopAutoExtend();
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    this.leaseTimer = undefined;
    this.service.countLost();
    this.controller?.abort(err);
  }

  /** Marks the lease lost if it ran out locally (while held). */
  private checkLease(): void {
    if (!this.released && !this.lostReason && Date.now() >= this.deadline) this.leaseRanOut();
  }

  private leaseRanOut(): void {
    this.lose(new LockLostError(this.resource, 'the lease ran out before it could be extended'));
  }

  private renew(deadline: number): void {
    if (this.lostReason || this.released) return;
    this.deadline = deadline;
    if (this.leaseTimer) this.watchLease();
  }

  /** Arms (or re-arms) the timer that fires the signal when the lease runs out. */
  private watchLease(): void {
    if (this.released || this.lostReason) return;
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    this.leaseTimer = setTimeout(() => this.leaseRanOut(), Math.max(0, this.deadline - Date.now()));
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
export class LockService {
  private readonly keys: RedisKeys;
  private readonly tally: LockTally;
  private readonly scripts = lockScripts();

  constructor(
    @InjectRedis('state') private readonly redis: RedisClient,
    keys: RedisKeys,
    @Optional() metrics: MetricsService = MetricsService.standalone(),
    @Inject(LOCK_MODULE_OPTIONS) private readonly options: LockModuleOptions,
  ) {
    this.keys = keys.namespace('lock');
    this.tally = lockTally(metrics);
  }

  lockKey(resource: string): string {
    return this.keys.tagged(resource);
  }

  /** Where the resource's last fencing token is remembered (same slot as its lock). */
  fenceKey(resource: string): string {
    return `${this.lockKey(resource)}:fence`;
  }

  /**
   * Acquires `resource`. Throws LockNotAcquiredError when it stays held for `wait` ms (0: at
   * once), LockUnavailableError when Redis cannot be reached.
   */
  async acquire(resource: string, options: LockOptions = {}): Promise<LockHandle> {
    const ttl = options.ttl ?? this.options.defaultTtlMs ?? DEFAULT_LOCK_TTL_MS;
    const deadline = Date.now() + (options.wait ?? 0);
    const key = this.lockKey(resource);
    const args = [key, `${key}:fence`, nextToken(), ttl, ttl + FENCE_MEMORY_MS];
    for (;;) {
      if (isDisconnected(this.redis)) {
        this.tally.error++;
        throw new LockUnavailableError(resource, `connection is ${this.redis.status}`);
      }
      const sentAt = Date.now();
      let fence: number;
      try {
        fence = (await this.scripts.acquire.run(this.redis, args)) as number;
      } catch (err) {
        this.tally.error++;
        if ((err as Error).message === 'Command timed out') this.abandon(key, args[2] as string);
        throw new LockUnavailableError(resource, (err as Error).message);
      }
      if (fence > 0) {
        this.tally.acquired++;
        return new LockHandle(this, resource, key, args[2] as string, fence, ttl, sentAt);
      }
      const retryDelay = options.retryDelay ?? 50;
      const pause = retryDelay + Math.floor(Math.random() * ((options.jitter ?? retryDelay) + 1));
      if (Date.now() + pause > deadline) {
        this.tally.contended++;
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
    const release = this.scripts.release.script;
    sendDespiteStall(this.redis, 'eval', [release.lua, release.numberOfKeys, key, token]).catch(
      () => undefined,
    );
  }

  /** @internal */
  extendRaw(key: string, token: string, ttl: number): Promise<boolean> {
    return this.scripts.extend.run(this.redis, [key, token, ttl]).then(isOne);
  }

  /** @internal */
  releaseRaw(key: string, token: string): Promise<boolean> {
    return this.scripts.release.run(this.redis, [key, token]).then(isOne);
  }

  /** @internal */
  countLost(): void {
    this.tally.lost++;
  }
}

const isOne = (reply: unknown): boolean => reply === 1;
