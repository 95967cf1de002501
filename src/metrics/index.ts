// Public face of the metrics module.
export * from './metrics.module-definition';
export * from './metrics.service';
export * from './metrics.module';
export { HttpRequestMetrics } from './http-metrics';
export { MetricsListener } from './metrics-listener';
export {
  RedisCommandMetrics,
  REDIS_COMMAND_DURATION,
  REDIS_COMMAND_ERRORS,
  OTHER_ROLE,
} from './redis-command-metrics';
export { redisCostOf, type RedisRequestCost } from './redis-request-cost';
export { TallyMetric, histogramSamples, type MetricValue } from './tally-metric';
