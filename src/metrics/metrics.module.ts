import { DynamicModule, Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { HttpRequestMetrics, RouteTemplates } from './http-metrics';
import { MetricsController } from './metrics.controller';
import { MetricsListener } from './metrics-listener';
import { MetricsConfigurableModule, MetricsModuleOptions } from './metrics.module-definition';
import { MetricsService } from './metrics.service';
import { RedisCommandMetrics } from './redis-command-metrics';

/**
 * Global Prometheus registry (`MetricsService`), `GET /metrics` (on the app's port, or on
 * `port` alone), the HTTP duration histogram
 * (`HttpRequestMetrics`, attached to the Node server by the platform seam, src/http/http-platform.ts)
 * and the Redis command metrics (`RedisCommandMetrics`, from ioredis's tracing channel).
 *
 * @example
 * imports: [MetricsModule.forRoot({})]
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [MetricsService, RouteTemplates, HttpRequestMetrics, RedisCommandMetrics],
  exports: [MetricsService, HttpRequestMetrics, RedisCommandMetrics],
})
export class MetricsModule extends MetricsConfigurableModule {
  /** `GET /metrics` on the app's port, or with `port` on a listener of its own ({@link MetricsListener}). */
  static override forRoot(options: MetricsModuleOptions): DynamicModule {
    const base = super.forRoot(options);
    if (options.port === undefined) return { ...base, controllers: [MetricsController] };
    return {
      ...base,
      providers: [...(base.providers ?? []), MetricsListener],
      exports: [...(base.exports ?? []), MetricsListener],
    };
  }
}
