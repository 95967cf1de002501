import { Injectable, OnModuleInit } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import { join } from 'node:path';
import type { RedisClient } from '../redis/redis.constants';
import { InjectRedis } from '../redis/redis.decorators';
import { RedisKeys } from '../redis/redis-keys';
import { defineScripts, loadLuaScripts } from '../redis/redis-scripts';

/** What one check decided; the ThrottlerStorageRecord fields plus what the IETF headers need. */
export interface RateLimitDecision extends ThrottlerStorageRecord {
  allowed: boolean;
  remaining: number;
  resetMs: number;
  retryAfterMs: number;
}

/**
 * `@nestjs/throttler` storage on the `state` role: one EVALSHA per request (sliding-window
 * counter, Redis TIME as the clock, count and TTL written together). Works on Cluster: each
 * client's state is one key.
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

  key(throttlerKey: string): string {
    return this.keys.tagged(throttlerKey);
  }

  /** ThrottlerStorage contract: times in seconds. */
  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
  ): Promise<RateLimitDecision> {
    return this.check(key, ttl, limit, blockDuration);
  }

  async check(
    key: string,
    windowMs: number,
    limit: number,
    blockMs = 0,
  ): Promise<RateLimitDecision> {
    const [allowed, used, resetMs, retryAfterMs] = await this.redis.slidingWindow(
      this.key(key),
      windowMs,
      limit,
      blockMs,
    );
    return {
      allowed: allowed === 1,
      totalHits: used,
      remaining: Math.max(0, limit - used),
      resetMs,
      retryAfterMs,
      timeToExpire: Math.ceil(resetMs / 1000),
      isBlocked: allowed !== 1,
      timeToBlockExpire: Math.ceil(retryAfterMs / 1000),
    };
  }
}
