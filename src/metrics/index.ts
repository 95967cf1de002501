// Public face of the metrics module.
export * from './metrics.module-definition';
export * from './metrics.service';
export * from './metrics.module';
export { HttpRequestMetrics } from './http-metrics';
