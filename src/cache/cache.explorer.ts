import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { methodKeyContext, wrapDecoratedProviderMethods } from '../common';
import { runDecoratedCall } from './cache-decorated-call';
import { CACHE_EVICT_METADATA, CACHED_METADATA } from './cache.constants';
import { CacheEvictOptions, CachedOptions } from './cache.decorators';
import { CacheService } from './cache.service';

/**
 * Makes `@Cached` / `@CacheEvict` work on provider (service) methods: at start-up decorated
 * methods are wrapped on their instances, through the same path as routes (`runDecoratedCall`).
 * Controllers are left to CacheInterceptor.
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
      (original, meta, label, instance) =>
        async (...args: unknown[]): Promise<unknown> =>
          (
            await runDecoratedCall(
              cache,
              {
                cached: meta[CACHED_METADATA] as CachedOptions | undefined,
                evict: meta[CACHE_EVICT_METADATA] as CacheEvictOptions | undefined,
                keyContext: methodKeyContext(args),
                fallbackKey: label,
              },
              async () => original.apply(instance, args),
            )
          ).value,
    );
  }
}
