// Public face of the Redis module.
export * from './redis.constants';
export * from './redis.decorators';
export * from './redis.errors';
export * from './redis.module-definition';
export * from './redis.module';
export * from './redis.service';
export * from './redis-keys';
export * from './redis-scan';
export * from './redis-scripts';
export * from './redis-command-scope';
export {
  closeRedisClient,
  createRedisClient,
  describeTopology,
  isDisconnected,
  retryDelay,
  sendDespiteStall,
  StallBreaker,
} from './redis.connection';
export * from './embedded-redis';
export * from './coalesced-reads';
