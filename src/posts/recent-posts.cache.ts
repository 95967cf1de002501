import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { join } from 'node:path';
import { deserialize, serialize } from '../cache';
import type { RedisClient } from '../redis';
import { InjectRedis, RedisKeys, defineScripts, loadLuaScripts } from '../redis';
import { Post, PostsRepository } from './posts.repository';

export const RECENT_POSTS = 50;
export const DERIVED_TTL_MS = 24 * 3_600_000;

/**
 * A user's recent posts and post count: derived structures on the `cache` role, kept by
 * write-through after each database commit ({@link recordCreated}) and rebuilt from the
 * database when missing (evicted or expired):
 * - `${prefix}:posts:{user-<id>}:recent` list of the 50 newest posts (JSON), newest first;
 * - `${prefix}:posts:{user-<id>}:stats` hash `{ postCount }`.
 * Both share a hash tag, so the write-through script runs on one Cluster slot.
 * Fails open: a Redis error on read falls back to the database; on write it drops the
 * structures so the next read rebuilds them.
 */
@Injectable()
export class RecentPostsCache implements OnModuleInit {
  private readonly logger = new Logger('RecentPostsCache');
  private readonly keys: RedisKeys;

  constructor(
    @InjectRedis('cache') private readonly redis: RedisClient,
    keys: RedisKeys,
    private readonly posts: PostsRepository,
  ) {
    this.keys = keys.namespace('posts');
  }

  onModuleInit(): void {
    defineScripts(this.redis, loadLuaScripts(join(__dirname, 'lua')));
  }

  recentKey(userId: number): string {
    return this.keys.tagged(`user-${userId}`, 'recent');
  }

  statsKey(userId: number): string {
    return this.keys.tagged(`user-${userId}`, 'stats');
  }

  /**
   * Call after the post is committed: LPUSH + LTRIM the author's list, HINCRBY the count and
   * refresh both TTLs, atomically (only structures that exist; missing ones are rebuilt on read).
   */
  async recordCreated(post: Post): Promise<void> {
    const [list, stats] = [this.recentKey(post.userId), this.statsKey(post.userId)];
    try {
      await this.redis.writeThroughList(
        list,
        stats,
        serialize('post', post),
        RECENT_POSTS,
        'postCount',
        DERIVED_TTL_MS,
      );
    } catch (err) {
      this.logger.warn(
        `write-through for user ${post.userId} failed, dropping the derived keys: ${(err as Error).message}`,
      );
      await Promise.all([this.redis.unlink(list), this.redis.unlink(stats)]).catch(() => undefined);
    }
  }

  /** The user's newest posts (at most {@link RECENT_POSTS}), newest first. */
  async recent(userId: number): Promise<Post[]> {
    const key = this.recentKey(userId);
    try {
      const [[, exists], [, items]] = (await this.redis
        .multi()
        .exists(key)
        .lrange(key, 0, RECENT_POSTS - 1)
        .exec()) as [[null, number], [null, string[]]];
      if (exists) return items.map((i) => deserialize<Post>(i));
    } catch (err) {
      this.logger.warn(`reading ${key} failed, reading the database: ${(err as Error).message}`);
      return this.posts.recentByUser(userId, RECENT_POSTS);
    }
    const posts = await this.posts.recentByUser(userId, RECENT_POSTS);
    if (posts.length > 0) {
      await this.redis
        .multi()
        .del(key)
        .rpush(key, ...posts.map((p) => serialize('post', p)))
        .pexpire(key, DERIVED_TTL_MS)
        .exec()
        .catch(() => undefined);
    }
    return posts;
  }

  /** How many posts the user wrote. */
  async stats(userId: number): Promise<{ postCount: number }> {
    const key = this.statsKey(userId);
    try {
      const count = await this.redis.hget(key, 'postCount');
      if (count !== null) return { postCount: Number(count) };
    } catch (err) {
      this.logger.warn(`reading ${key} failed, reading the database: ${(err as Error).message}`);
      return { postCount: await this.posts.countByUser(userId) };
    }
    const postCount = await this.posts.countByUser(userId);
    await this.redis
      .multi()
      .hset(key, 'postCount', postCount)
      .pexpire(key, DERIVED_TTL_MS)
      .exec()
      .catch(() => undefined);
    return { postCount };
  }
}
