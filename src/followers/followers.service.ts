import { Injectable } from '@nestjs/common';
import type { RedisClient } from '../redis';
import { InjectRedis, RedisKeys } from '../redis';

/**
 * Who follows whom, as one set of follower ids per user on the `state` role (Redis is the
 * source of truth here: noeviction + AOF). All sets share the `{graph}` hash tag so SINTER
 * works on a Cluster; that puts the graph on one node, fine for this demo — a large graph
 * would shard by user and intersect in the application.
 */
@Injectable()
export class FollowersService {
  private readonly keys: RedisKeys;

  constructor(
    @InjectRedis('state') private readonly redis: RedisClient,
    keys: RedisKeys,
  ) {
    this.keys = keys.namespace('followers');
  }

  key(userId: number): string {
    return this.keys.tagged('graph', userId);
  }

  async follow(userId: number, followerId: number): Promise<boolean> {
    return (await this.redis.sadd(this.key(userId), String(followerId))) === 1;
  }

  async unfollow(userId: number, followerId: number): Promise<boolean> {
    return (await this.redis.srem(this.key(userId), String(followerId))) === 1;
  }

  async list(userId: number): Promise<number[]> {
    return (await this.redis.smembers(this.key(userId))).map(Number).sort((a, b) => a - b);
  }

  async isFollowing(userId: number, followerId: number): Promise<boolean> {
    return (await this.redis.sismember(this.key(userId), String(followerId))) === 1;
  }

  /** Users who follow both. */
  async mutual(a: number, b: number): Promise<number[]> {
    return (await this.redis.sinter(this.key(a), this.key(b))).map(Number).sort((x, y) => x - y);
  }
}
