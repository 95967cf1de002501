import { ConfigurableModuleBuilder } from '@nestjs/common';

/**
 * Options of {@link MetricsModule}.
 *
 * @example
 * MetricsModule.forRoot({ defaultMetrics: true })
 */
export interface MetricsModuleOptions {
  /** Node process metrics (CPU, memory, event loop lag, GC) from prom-client. Default true. */
  defaultMetrics?: boolean;
}

export const {
  ConfigurableModuleClass: MetricsConfigurableModule,
  MODULE_OPTIONS_TOKEN: METRICS_MODULE_OPTIONS,
} = new ConfigurableModuleBuilder<MetricsModuleOptions>({ moduleName: 'Metrics' })
  .setClassMethodName('forRoot')
  .build();
