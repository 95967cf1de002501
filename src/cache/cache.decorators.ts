import { SetMetadata } from '@nestjs/common';
import { CACHE_EVICT_METADATA, CACHED_METADATA } from './cache.constants';
import type { CacheOptions } from './cache.types';

import type { KeyContext, KeySource } from '../common';

/** What a key is built from (see `KeySource` in common/method-keys.ts). */
export type CacheKeySource = KeySource;
export type CacheKeyContext = KeyContext;

export interface CachedOptions extends Omit<CacheOptions, 'tags'> {
  /** Key inside the cache. Default: the method name and the stable JSON of its params/query or arguments. */
  key?: CacheKeySource;
  tags?: string[] | ((ctx: CacheKeyContext) => string[]);
  /**
   * Whose data this is. `'auto'` (default): on HTTP, a request carrying credentials
   * (Authorization or Cookie header) gets a key of its own, so one user's response is never
   * served to another; `'shared'`: the response does not depend on the caller.
   */
  scope?: 'auto' | 'shared';
}

export interface CacheEvictOptions {
  cache?: string;
  keys?: CacheKeySource[];
  tags?: string[] | ((ctx: CacheKeyContext) => string[]);
}

/**
 * Cache-aside for a method: on controllers (GET/HEAD only, with an `X-Cache: HIT | MISS |
 * STALE` header) and on any provider method. Stampede-protected (see CacheService). On a
 * controller class it applies to every route of the class (a route's own `@Cached` wins).
 *
 * @example
 * @Get(':id')
 * @Cached({ cache: 'users', key: 'user:{id}', ttl: hours(1) })
 * get(@Param('id', ParseIdPipe) id: number) { … }
 */
export const Cached = (options: CachedOptions = {}): MethodDecorator & ClassDecorator =>
  SetMetadata(CACHED_METADATA, options);

/**
 * Evicts keys and/or tags after the method succeeds (never when it throws), on this instance,
 * in Redis and, by broadcast, in every instance's L1. On a controller class it applies to every
 * route of the class that writes (not GET/HEAD; a route's own `@CacheEvict` wins). With
 * `@Cached` on the same method, the call is cached and the eviction follows it.
 *
 * @example
 * @Patch(':id')
 * @CacheEvict({ cache: 'users', keys: ['user:{id}'] })
 * update(@Param('id', ParseIdPipe) id: number, @Body() dto: UpdateUserDto) { … }
 */
export const CacheEvict = (options: CacheEvictOptions): MethodDecorator & ClassDecorator =>
  SetMetadata(CACHE_EVICT_METADATA, options);
