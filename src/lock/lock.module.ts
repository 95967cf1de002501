import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { HttpContext } from '../http';
import { LockExplorer } from './lock.explorer';
import { LOCK_INTERCEPTOR } from './lock.constants';
import { LockInterceptor, WithLockRouteInterceptor } from './lock.interceptor';
import { LockConfigurableModule } from './lock.module-definition';
import { LockService } from './lock.service';

/**
 * Distributed locks (`LockService`, `@WithLock` on routes and provider methods) on the `state`
 * Redis role. Needs `RedisModule`; its metrics are exposed when `MetricsModule` is imported too.
 * Failure policy: fail closed.
 *
 * @example
 * imports: [LockModule.forRoot({ defaultTtlMs: 10_000, isGlobal: true })]
 * // a resource named your way on every @WithLock route:
 * imports: [LockModule.forRoot({ isGlobal: true, interceptor: TenantLockInterceptor })]
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    LockService,
    LockExplorer,
    HttpContext,
    { provide: LOCK_INTERCEPTOR, useClass: LockInterceptor },
    WithLockRouteInterceptor,
  ],
  exports: [LockService, LOCK_INTERCEPTOR, WithLockRouteInterceptor],
})
export class LockModule extends LockConfigurableModule {}
