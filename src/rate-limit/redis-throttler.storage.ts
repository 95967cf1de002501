import { Injectable, OnModuleInit } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import { join } from 'node:path';
import type { RedisClient } from '../redis';
import { InjectRedis, RedisKeys, defineScripts, loadLuaScripts } from '../redis';

/**
 * What one check decided: the {@link ThrottlerStorageRecord} fields (times in whole seconds, as
 * the contract has them) plus what the IETF headers need (times in milliseconds).
 */
export interface RateLimitDecision extends ThrottlerStorageRecord {
  allowed: boolean;
  /** Requests left in the window after this one (0 when refused). */
  remaining: number;
  /** Milliseconds until the current window ends. */
  resetMs: number;
  /** Refused: milliseconds until a request will be allowed (block included); allowed: 0. */
  retryAfterMs: number;
  /** Requests counted by this call: 1 (or up to the reservation, see `reserve`), 0 when refused. */
  granted: number;
}

/** The throttler name @nestjs/throttler gives an unnamed throttler. */
const DEFAULT_THROTTLER = 'default';

/**
 * `@nestjs/throttler` storage on the `state` role: one EVALSHA per request (sliding-window
 * counter, Redis TIME as the clock, count and TTL written together). All state of one client +
 * route + throttler is one hash key, `rl:{<throttler key>}:<throttler name>` (one Cluster slot;
 * the name keeps named throttlers apart even when a custom `generateKey` leaves it out).
 *
 * It keeps the `ThrottlerStorage` contract of the in-memory `ThrottlerStorageService` (see
 * test/rate-limit/throttler-storage.contract.e2e-spec.ts), except where a sliding window
 * deliberately differs from the reference's per-hit expiry (README § Rate limiting).
 */
@Injectable()
export class RedisThrottlerStorage implements ThrottlerStorage, OnModuleInit {
  private readonly keys: RedisKeys;

  constructor(
    @InjectRedis('state') private readonly redis: RedisClient,
    keys: RedisKeys,
  ) {
    this.keys = keys.namespace('rl');
  }

  onModuleInit(): void {
    defineScripts(this.redis, loadLuaScripts(join(__dirname, 'lua')));
  }

  /** The Redis key holding one throttler's state for one throttler key (client + route). */
  key(throttlerKey: string, throttlerName = DEFAULT_THROTTLER): string {
    return this.keys.tagged(throttlerKey, throttlerName);
  }

  /**
   * ThrottlerStorage contract: `ttl` and `blockDuration` in **milliseconds**; the record's
   * `timeToExpire` and `timeToBlockExpire` in **seconds** (rounded up). A refused request reports
   * `isBlocked`, `totalHits = limit + 1` and in `timeToBlockExpire` the wait after which a request
   * is allowed (at least `blockDuration` when that is > 0).
   */
  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<RateLimitDecision> {
    return this.check(key, ttl, limit, blockDuration, throttlerName);
  }

  /**
   * One request of a client: counts it if the window has room and no block is running.
   * @param windowMs window length in ms (at least 1)
   * @param limit requests per window; 0 refuses every request
   * @param blockMs after a refusal, refuse every request for this long (0: the window decides)
   * @param throttlerName keeps named throttlers apart even when their keys coincide
   */
  async check(
    key: string,
    windowMs: number,
    limit: number,
    blockMs = 0,
    throttlerName = DEFAULT_THROTTLER,
  ): Promise<RateLimitDecision> {
    return this.run(key, windowMs, limit, blockMs, throttlerName, false);
  }

  /**
   * Counts up to `n` requests at once (as many as the window has room for, at least 1), for a
   * caller that admits them locally afterwards (the guard's approximate mode). Refused like
   * {@link check} when not even one fits.
   */
  async reserve(
    key: string,
    windowMs: number,
    limit: number,
    n: number,
    blockMs = 0,
    throttlerName = DEFAULT_THROTTLER,
  ): Promise<RateLimitDecision> {
    return this.run(key, windowMs, limit, blockMs, throttlerName, false, Math.max(1, n | 0));
  }

  /**
   * What {@link check} would decide for one more request, without counting it: for callers that
   * count only some requests (failed logins) and must refuse early once over the limit.
   */
  async peek(
    key: string,
    windowMs: number,
    limit: number,
    throttlerName = DEFAULT_THROTTLER,
  ): Promise<RateLimitDecision> {
    return this.run(key, windowMs, limit, 0, throttlerName, true);
  }

  private async run(
    key: string,
    windowMs: number,
    limit: number,
    blockMs: number,
    throttlerName: string,
    peek: boolean,
    reserve = 1,
  ): Promise<RateLimitDecision> {
    if (!(windowMs >= 1))
      throw new RangeError(`rate limit window must be >= 1 ms, got ${windowMs}`);
    const key_ = this.key(key, throttlerName);
    const [allowed, totalHits, resetMs, retryAfterMs, granted] = peek
      ? await this.redis.slidingWindow(key_, windowMs, limit, blockMs, '1')
      : reserve > 1
        ? await this.redis.slidingWindow(key_, windowMs, limit, blockMs, '0', reserve)
        : await this.redis.slidingWindow(key_, windowMs, limit, blockMs);
    return {
      allowed: allowed === 1,
      granted,
      totalHits,
      remaining: Math.max(0, limit - totalHits),
      resetMs,
      retryAfterMs,
      timeToExpire: Math.ceil(resetMs / 1000),
      isBlocked: allowed !== 1,
      timeToBlockExpire: Math.ceil(retryAfterMs / 1000),
    };
  }
}
