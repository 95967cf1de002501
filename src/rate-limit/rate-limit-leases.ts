import { performance } from 'node:perf_hooks';
import type { RateLimitDecision } from './redis-throttler.storage';

/** Asks Redis for up to `n` admissions of one key (RedisThrottlerStorage.reserve, bound). */
export type ReserveFn = (n: number) => Promise<RateLimitDecision>;

/** What one local admission decided, with what the RateLimit headers need. */
export interface LeaseDecision {
  allowed: boolean;
  /** This instance's view: the budget left in the window when the lease was drawn, plus its unused share. */
  remaining: number;
  /** Allowed: ms until the lease (the Redis window) ends; refused: ms until a request may pass. */
  resetMs: number;
  retryAfterMs: number;
  /** True when this admission asked Redis (false: answered from the local lease or refusal). */
  fromRedis: boolean;
}

interface Lease {
  /** Admissions drawn from Redis and not used yet. */
  tokens: number;
  /** performance.now() after which the tokens are void: the Redis window they were counted in ends. */
  until: number;
  /** Budget left in the window (limit − totalHits) when the lease was drawn. */
  left: number;
  /** A refusal is repeated locally until this performance.now(), without asking Redis. */
  refusedUntil: number;
  /**
   * The reservation in flight for this key: concurrent requests wait for it instead of asking
   * too. It resolves with the error the reservation failed with (undefined on success), so the
   * waiters fail open with it at once rather than queueing one Redis timeout each.
   */
  pending?: Promise<Error | undefined>;
}

/**
 * The approximate mode's local share of each client's budget (per process). A request that finds
 * no unused admission draws a lease from Redis: up to `size` admissions counted at once by the
 * sliding-window script, valid until the Redis window they were counted in ends (measured from
 * when the request was sent, so never later than Redis's own window). Concurrent requests of one
 * key wait for the one reservation in flight. A refusal is repeated locally until its
 * Retry-After: Redis would refuse too until then (refused requests are not counted).
 *
 * Guarantees (README § Rate limiting, tested in test/rate-limit/approximate.e2e-spec.ts):
 * - every admitted request was counted in Redis in the window it was admitted in, so per window
 *   no more requests pass than in exact mode;
 * - unused admissions are lost when the window ends: at most `size − 1` per instance and client
 *   per window go unserved (under-admission);
 * - a block set by one instance's refusal stops another instance's clients only when that
 *   instance's lease runs out: up to `size − 1` more requests per other instance, all of them
 *   within the counted budget.
 *
 * The map is bounded: past `maxEntries` the oldest leases are dropped (their tokens are lost,
 * which only under-admits).
 */
export class RateLimitLeases {
  private readonly leases = new Map<string, Lease>();

  constructor(
    private readonly maxEntries = 10_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Entries held (for tests and diagnostics). */
  get size(): number {
    return this.leases.size;
  }

  /**
   * One request of `key`: admitted from the local lease when it has an unused admission,
   * otherwise after drawing a lease of `size` from Redis through `reserve`. Rejects when
   * `reserve` does (the caller fails open).
   */
  async take(key: string, size: number, reserve: ReserveFn): Promise<LeaseDecision> {
    for (;;) {
      let lease = this.leases.get(key);
      const now = this.now();
      if (lease) {
        if (lease.tokens > 0 && now < lease.until) {
          lease.tokens -= 1;
          return this.admitted(lease, now, false);
        }
        if (now < lease.refusedUntil) return this.refused(lease, now, false);
        if (lease.pending) {
          const failed = await lease.pending;
          if (failed) throw failed;
          continue;
        }
      } else {
        lease = { tokens: 0, until: 0, left: 0, refusedUntil: 0 };
        this.insert(key, lease);
      }
      return this.draw(key, lease, size, reserve);
    }
  }

  private async draw(
    key: string,
    lease: Lease,
    size: number,
    reserve: ReserveFn,
  ): Promise<LeaseDecision> {
    const sent = this.now();
    let done!: (failed?: Error) => void;
    let failed: Error | undefined;
    lease.pending = new Promise<Error | undefined>((r) => (done = r));
    try {
      const d = await reserve(Math.max(1, Math.floor(size)));
      if (this.leases.get(key) !== lease) this.insert(key, lease); // evicted meanwhile
      if (d.allowed) {
        // This request takes one of the granted admissions; the rest serve later requests.
        lease.tokens = d.granted - 1;
        lease.until = sent + d.resetMs;
        lease.left = d.remaining;
        lease.refusedUntil = 0;
        return this.admitted(lease, this.now(), true);
      }
      lease.tokens = 0;
      lease.refusedUntil = sent + d.retryAfterMs;
      return {
        allowed: false,
        remaining: 0,
        resetMs: d.retryAfterMs,
        retryAfterMs: d.retryAfterMs,
        fromRedis: true,
      };
    } catch (err) {
      failed = err instanceof Error ? err : new Error('rate-limit reservation failed');
      throw err;
    } finally {
      lease.pending = undefined;
      done(failed);
    }
  }

  private admitted(lease: Lease, now: number, fromRedis: boolean): LeaseDecision {
    return {
      allowed: true,
      remaining: lease.left + lease.tokens,
      resetMs: Math.max(0, lease.until - now),
      retryAfterMs: 0,
      fromRedis,
    };
  }

  private refused(lease: Lease, now: number, fromRedis: boolean): LeaseDecision {
    const wait = Math.max(1, lease.refusedUntil - now);
    return { allowed: false, remaining: 0, resetMs: wait, retryAfterMs: wait, fromRedis };
  }

  private insert(key: string, lease: Lease): void {
    if (this.leases.size >= this.maxEntries) this.evict();
    this.leases.set(key, lease);
  }

  /** Drops spent entries among the oldest, else the oldest one (Map keeps insertion order). */
  private evict(): void {
    const now = this.now();
    let scanned = 0;
    for (const [k, l] of this.leases) {
      if (scanned++ >= 64) break;
      if (!l.pending && (l.tokens === 0 || now >= l.until) && now >= l.refusedUntil)
        this.leases.delete(k);
    }
    if (this.leases.size >= this.maxEntries) {
      for (const [k, l] of this.leases) {
        if (l.pending) continue;
        this.leases.delete(k);
        break;
      }
    }
  }
}
