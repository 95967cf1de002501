import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR, DiscoveryModule } from '@nestjs/core';
import { CacheInvalidationListener } from './cache-invalidation.listener';
import { CacheExplorer } from './cache.explorer';
import { CacheInterceptor } from './cache.interceptor';
import { CacheService } from './cache.service';

/**
 * Cache-aside with stampede protection, tags and a coherent L1 (see CacheService), plus the
 * `@Cached` / `@CacheEvict` decorators for controllers and services. Configured from the
 * environment (`CACHE_*`). Failure policy: fail open.
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [
    CacheService,
    CacheInvalidationListener,
    CacheExplorer,
    { provide: APP_INTERCEPTOR, useClass: CacheInterceptor },
  ],
  exports: [CacheService],
})
export class CacheModule {}
