import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR, DiscoveryModule } from '@nestjs/core';
import { LockExplorer } from './lock.explorer';
import { LockInterceptor } from './lock.interceptor';
import { LockConfigurableModule } from './lock.module-definition';
import { LockService } from './lock.service';

/**
 * Distributed locks (`LockService`, `@WithLock` on routes and provider methods) on the `state`
 * Redis role. Needs `RedisModule`; its metrics are exposed when `MetricsModule` is imported too.
 * Failure policy: fail closed.
 *
 * @example
 * imports: [LockModule.forRoot({ defaultTtlMs: 10_000, isGlobal: true })]
 */
@Module({
  imports: [DiscoveryModule],
  providers: [LockService, LockExplorer, { provide: APP_INTERCEPTOR, useClass: LockInterceptor }],
  exports: [LockService],
})
export class LockModule extends LockConfigurableModule {}
