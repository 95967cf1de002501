export * from './redis.constants';
export * from './redis.decorators';
export * from './redis.module';
export * from './redis.service';
export * from './redis-keys';
export * from './redis-scan';
export * from './redis-scripts';
export { retryDelay, describeTopology, isDisconnected } from './redis.connection';
