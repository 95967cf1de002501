// Public face of the ops module.
export * from './ops.module-definition';
export * from './ops.module';
export { RedisServerMetrics, type ServerState } from './redis-server-metrics';
export * from './redis-info';
export * from './redis-diagnostics.service';
export * from './redis-replies';
