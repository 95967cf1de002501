import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { CACHE_EVICT_METADATA, CACHED_METADATA } from './cache.constants';
import { CacheEvictOptions, CachedOptions } from './cache.decorators';
import { buildKey, buildTags } from '../common/method-keys';
import { CacheService } from './cache.service';

/**
 * Makes `@Cached` / `@CacheEvict` work on provider (service) methods: at start-up it finds
 * decorated methods and wraps them on the instance (the prototype, and its metadata, stay as
 * they are). Controllers are left to CacheInterceptor.
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
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      const proto = Object.getPrototypeOf(instance) as object;
      for (const name of this.scanner.getAllMethodNames(proto)) {
        const method = instance[name];
        if (typeof method !== 'function') continue;
        const cached = this.reflector.get<CachedOptions | undefined>(CACHED_METADATA, method);
        const evict = this.reflector.get<CacheEvictOptions | undefined>(
          CACHE_EVICT_METADATA,
          method,
        );
        if (!cached && !evict) continue;
        instance[name] = this.wrap(
          instance,
          name,
          method as (...a: unknown[]) => unknown,
          cached,
          evict,
        );
      }
    }
  }

  private wrap(
    instance: object,
    name: string,
    original: (...a: unknown[]) => unknown,
    cached?: CachedOptions,
    evict?: CacheEvictOptions,
  ) {
    const cache = this.cache;
    const label = `${instance.constructor.name}.${name}`;
    return async function (this: unknown, ...args: unknown[]): Promise<unknown> {
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
  }
}
