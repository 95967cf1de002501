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
 *
 * The default throttler has `blockDuration: 0`: a refused client waits only until the sliding
 * window has room (@nestjs/throttler's own default would block for a whole `ttl`). A route that
 * wants a penalty sets one, e.g. `@Throttle({ default: { limit: 5, ttl: minutes(1),
 * blockDuration: minutes(15) } })` on a login route.
 */
@Global()
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        throttlers: [
          {
            name: 'default',
            limit: config.rateLimit.limit,
            ttl: config.rateLimit.windowMs,
            blockDuration: 0,
          },
        ],
        setHeaders: false,
      }),
    }),
  ],
  providers: [RedisThrottlerStorage, { provide: APP_GUARD, useClass: RateLimitGuard }],
  exports: [RedisThrottlerStorage],
})
export class RateLimitModule {}
