import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { APP_CONFIG } from '../config/config.constants';
import type { AppConfig } from '../config/config.schema';
import { RateLimitGuard } from './rate-limit.guard';
import { RedisThrottlerStorage } from './redis-throttler.storage';

/**
 * Global rate limit from `RATE_LIMIT` (e.g. `100/60s` per client) on every route, through
 * @nestjs/throttler with a Redis storage of our own. Override per route with `@Throttle({
 * default: { limit, ttl } })`, opt out with `@SkipThrottle()` (health, metrics).
 */
@Global()
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        throttlers: [
          { name: 'default', limit: config.rateLimit.limit, ttl: config.rateLimit.windowMs },
        ],
        setHeaders: false,
      }),
    }),
  ],
  providers: [RedisThrottlerStorage, { provide: APP_GUARD, useClass: RateLimitGuard }],
  exports: [RedisThrottlerStorage],
})
export class RateLimitModule {}
