import { Injectable } from '@nestjs/common';
import type { RedisClient } from '../redis/redis.constants';
import { InjectRedis } from '../redis/redis.decorators';
import { RedisKeys } from '../redis/redis-keys';

export interface RankedEntry {
  rank: number;
  member: string;
  score: number;
}

/** Leaderboards as sorted sets on the `state` role: highest score first, rank 1-based. */
@Injectable()
export class LeaderboardService {
  private readonly keys: RedisKeys;

  constructor(
    @InjectRedis('state') private readonly redis: RedisClient,
    keys: RedisKeys,
  ) {
    this.keys = keys.namespace('lb');
  }

  key(board: string): string {
    return this.keys.tagged(board);
  }

  async set(board: string, member: string, score: number): Promise<RankedEntry> {
    await this.redis.zadd(this.key(board), score, member);
    return (await this.member(board, member))!;
  }

  async increment(board: string, member: string, by: number): Promise<RankedEntry> {
    await this.redis.zincrby(this.key(board), by, member);
    return (await this.member(board, member))!;
  }

  async top(board: string, n: number): Promise<RankedEntry[]> {
    const flat = await this.redis.zrevrange(this.key(board), 0, n - 1, 'WITHSCORES');
    const out: RankedEntry[] = [];
    for (let i = 0; i < flat.length; i += 2)
      out.push({ rank: i / 2 + 1, member: flat[i], score: Number(flat[i + 1]) });
    return out;
  }

  /** Rank and score in one round trip; null when the member is not on the board. */
  async member(board: string, member: string): Promise<RankedEntry | null> {
    const res = await this.redis
      .multi()
      .zrevrank(this.key(board), member)
      .zscore(this.key(board), member)
      .exec();
    const rank = res?.[0]?.[1] as number | null;
    const score = res?.[1]?.[1] as string | null;
    if (rank === null || rank === undefined || score === null || score === undefined) return null;
    return { rank: rank + 1, member, score: Number(score) };
  }
}
