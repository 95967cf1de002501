import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { HttpRequestMetrics, RouteTemplates } from './http-metrics';
import { MetricsController } from './metrics.controller';
import { MetricsConfigurableModule } from './metrics.module-definition';
import { MetricsService } from './metrics.service';

/**
 * Global Prometheus registry (`MetricsService`), `GET /metrics` and the HTTP duration histogram
 * (`HttpRequestMetrics`, attached to the Node server by the platform seam, src/http/http-platform.ts).
 *
 * @example
 * imports: [MetricsModule.forRoot({})]
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  controllers: [MetricsController],
  providers: [MetricsService, RouteTemplates, HttpRequestMetrics],
  exports: [MetricsService, HttpRequestMetrics],
})
export class MetricsModule extends MetricsConfigurableModule {}
