import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { buildKey, buildTags, wrapDecoratedProviderMethods } from '../common';
import { CACHE_EVICT_METADATA, CACHED_METADATA } from './cache.constants';
import { CacheEvictOptions, CachedOptions } from './cache.decorators';
import { CacheService } from './cache.service';

/**
 * Makes `@Cached` / `@CacheEvict` work on provider (service) methods: at start-up decorated
 * methods are wrapped on their instances. Controllers are left to CacheInterceptor.
 */
@Injectable()
export class CacheExplorer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly cache: CacheService,
  ) {}

  onModuleInit(): void {
    const cache = this.cache;
    wrapDecoratedProviderMethods(
      this.discovery,
      this.scanner,
      this.reflector,
      [CACHED_METADATA, CACHE_EVICT_METADATA],
      (original, meta, label, instance) => {
        const cached = meta[CACHED_METADATA] as CachedOptions | undefined;
        const evict = meta[CACHE_EVICT_METADATA] as CacheEvictOptions | undefined;
        return async (...args: unknown[]): Promise<unknown> => {
          const ctx = { args, params: {}, query: {} };
          if (cached) {
            const key = buildKey(cached.key, ctx, label, false);
            return cache.getOrSet(key, () => original.apply(instance, args), {
              ...cached,
              tags: buildTags(cached.tags, ctx, false),
            });
          }
          const result = await original.apply(instance, args);
          if (evict) {
            const keys = (evict.keys ?? []).map((k) => buildKey(k, ctx, '', false));
            const tags = buildTags(evict.tags, ctx, false) ?? [];
            if (keys.length) await cache.del(keys, { cache: evict.cache });
            if (tags.length) await cache.invalidateTags(tags, { cache: evict.cache });
          }
          return result;
        };
      },
    );
  }
}
