import { buildKey, buildTags, KeyContext } from '../common';
import type { CacheEvictOptions, CachedOptions } from './cache.decorators';
import type { CacheResult } from './cache.constants';
import { CacheService } from './cache.service';

export interface DecoratedCall {
  /** `@Cached` options of the call, when it is to be cached. */
  cached?: CachedOptions;
  /** `@CacheEvict` options of the call. */
  evict?: CacheEvictOptions;
  keyContext: KeyContext;
  /** Key when `cached.key` is not given: `<Class>.<method>` plus the arguments / params. */
  fallbackKey: string;
  /** Appended to the cache key (`:u:<who>`): one caller's entry is never served to another. */
  callerSuffix?: string;
}

/**
 * The one path both `@Cached` / `@CacheEvict` entry points take (the route interceptor and the
 * provider-method explorer), so a method behaves the same wherever it is: the call is cached
 * (when `cached`), then, once it succeeded, keys and tags are evicted (when `evict`).
 */
export async function runDecoratedCall(
  cache: CacheService,
  d: DecoratedCall,
  call: () => Promise<unknown>,
): Promise<{ value: unknown; result?: CacheResult }> {
  let value: unknown;
  let result: CacheResult | undefined;
  if (d.cached) {
    const key = buildKey(d.cached.key, d.keyContext, d.fallbackKey) + (d.callerSuffix ?? '');
    ({ value, result } = await cache.fetch(key, call, {
      ...d.cached,
      tags: buildTags(d.cached.tags, d.keyContext),
    }));
  } else {
    value = await call();
  }
  if (d.evict) await evictAfter(cache, d.evict, d.keyContext);
  return { value, result };
}

async function evictAfter(
  cache: CacheService,
  o: CacheEvictOptions,
  ctx: KeyContext,
): Promise<void> {
  const keys = (o.keys ?? []).map((k) => buildKey(k, ctx));
  const tags = buildTags(o.tags, ctx) ?? [];
  await Promise.all([
    keys.length ? cache.del(keys, { cache: o.cache }) : undefined,
    tags.length ? cache.invalidateTags(tags, { cache: o.cache }) : undefined,
  ]);
}
