import type { Cluster, Redis } from 'ioredis';

/** A command client: a single node (standalone or Sentinel-managed) or a Cluster. Code written against this type works on all three. */
export type RedisClient = Redis | Cluster;

/**
 * Connection roles (see docs/architecture.md):
 * - `state`: queues, sessions, locks, rate limits, counters, streams. Must be a `noeviction` instance.
 * - `cache`: cached values and derived lists. May be an evictable (`allkeys-lru`) instance (tag
 *   timestamps live on `state`).
 */
export type RedisRole = 'state' | 'cache';
export const REDIS_ROLES: readonly RedisRole[] = ['state', 'cache'];

/** Kinds of dedicated connection built on demand by `RedisService.createDedicated`. */
export type DedicatedConnectionKind = 'subscriber' | 'blocking';

export const REDIS_CLIENT_TOKEN_PREFIX = 'REDIS:CLIENT:';

export function getRedisToken(role: RedisRole = 'state'): string {
  return `${REDIS_CLIENT_TOKEN_PREFIX}${role}`;
}
