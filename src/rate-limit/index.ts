export * from './rate-limit.module';
export * from './rate-limit.guard';
export * from './redis-throttler.storage';
