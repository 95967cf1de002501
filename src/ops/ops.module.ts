import { DynamicModule, Module } from '@nestjs/common';
import { AdminRedisController } from './admin-redis.controller';
import { OpsConfigurableModule, OpsModuleOptions } from './ops.module-definition';
import { RedisDiagnostics } from './redis-diagnostics.service';
import { RedisServerMetrics } from './redis-server-metrics';

/**
 * Operations: Redis server state exposed at scrape, start-up configuration checks, and the
 * admin diagnostics endpoints (slowlog, info, latency, memory, bigkeys).
 *
 * @example
 * imports: [OpsModule.forRoot({})]
 */
@Module({
  providers: [RedisServerMetrics, RedisDiagnostics],
  exports: [RedisServerMetrics, RedisDiagnostics],
  controllers: [],
})
export class OpsModule extends OpsConfigurableModule {
  /** With `adminEndpoints` (default true) the admin Redis diagnostics under `/api/admin/redis`. */
  static override forRoot(options: OpsModuleOptions & { isGlobal?: boolean } = {}): DynamicModule {
    const base = super.forRoot(options);
    if (options.adminEndpoints === false) return base;
    return { ...base, controllers: [...(base.controllers ?? []), AdminRedisController] };
  }
}
