import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR, DiscoveryModule } from '@nestjs/core';
import { HttpContext } from '../http';
import { CacheInvalidationListener } from './cache-invalidation.listener';
import { CacheExplorer } from './cache.explorer';
import { CacheInterceptor } from './cache.interceptor';
import {
  CACHE_INTERCEPTOR,
  CACHE_MODULE_OPTIONS,
  CACHE_OPTIONS,
  CacheConfigurableModule,
  CacheModuleOptions,
  resolveCacheOptions,
} from './cache.module-definition';
import { CacheL1 } from './cache-l1';
import { CacheStore } from './cache-store';
import { CacheService } from './cache.service';

/**
 * Cache-aside with stampede protection, tags and a coherent L1 (see CacheService), plus the
 * `@Cached` / `@CacheEvict` decorators for controllers and services. Needs `RedisModule` (roles
 * `cache` and `state`); its metrics are exposed when `MetricsModule` is imported too. The
 * fleet-wide recompute lock (`lock: true`) takes its lock from `LockService`, so it also needs
 * `LockModule` imported globally (`isGlobal: true`); without it everything else works and a
 * call with `lock: true` fails with an error saying so. Failure policy: fail open.
 *
 * @example
 * imports: [
 *   CacheModule.forRoot({ defaultTtlMs: 60_000, isGlobal: true }),
 *   LockModule.forRoot({ isGlobal: true }), // only for `lock: true`
 * ]
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: CACHE_OPTIONS,
      useFactory: (options: CacheModuleOptions) => resolveCacheOptions(options),
      inject: [CACHE_MODULE_OPTIONS],
    },
    CacheStore,
    CacheL1,
    CacheService,
    // The platform seam the interceptor writes X-Cache through (also global in the app's HttpModule).
    HttpContext,
    CacheInvalidationListener,
    CacheExplorer,
    { provide: CACHE_INTERCEPTOR, useClass: CacheInterceptor },
    // Global, so it runs outside route-scoped interceptors (`@WithLock`'s): a hit takes no lock.
    {
      provide: APP_INTERCEPTOR,
      useFactory: (interceptor: CacheInterceptor) => interceptor,
      inject: [CACHE_INTERCEPTOR],
    },
  ],
  exports: [CacheService],
})
export class CacheModule extends CacheConfigurableModule {}
