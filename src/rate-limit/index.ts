// Public face of the rate-limit module.
export * from './rate-limit.module-definition';
export * from './rate-limit.module';
export * from './rate-limit.guard';
export * from './rate-limit-leases';
export * from './redis-throttler.storage';
