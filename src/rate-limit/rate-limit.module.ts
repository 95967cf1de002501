import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { getOptionsToken, getStorageToken, type ThrottlerModuleOptions } from '@nestjs/throttler';
import { RateLimitGuard } from './rate-limit.guard';
import {
  RATE_LIMIT_MODULE_OPTIONS,
  RateLimitConfigurableModule,
  RateLimitModuleOptions,
} from './rate-limit.module-definition';
import { RedisThrottlerStorage } from './redis-throttler.storage';

/**
 * A rate limit on every route through @nestjs/throttler (its decorators, its guard contract)
 * with a Redis storage of our own: override per route with `@Throttle({ default: { limit, ttl }
 * })`, opt out with `@SkipThrottle()` (health, metrics). Needs `RedisModule` (role `state`),
 * `MetricsModule` and `HttpModule`.
 *
 * The default throttler has `blockDuration: 0` unless `blockDurationMs` says otherwise: a
 * refused client waits only until the sliding window has room. A route that wants a penalty
 * sets one, e.g. `@Throttle({ default: { limit: 5, ttl: minutes(1), blockDuration: minutes(15) } })`.
 *
 * @example
 * imports: [RateLimitModule.forRoot({ limit: 100, windowMs: 60_000 })]
 */
@Module({
  providers: [
    {
      // What @nestjs/throttler's ThrottlerModule would provide, built from our options.
      provide: getOptionsToken(),
      useFactory: (o: RateLimitModuleOptions): ThrottlerModuleOptions => ({
        throttlers: [
          {
            name: 'default',
            limit: o.limit,
            ttl: o.windowMs,
            blockDuration: o.blockDurationMs ?? 0,
          },
        ],
        setHeaders: false,
        skipIf: o.skipIf,
      }),
      inject: [RATE_LIMIT_MODULE_OPTIONS],
    },
    RedisThrottlerStorage,
    { provide: getStorageToken(), useExisting: RedisThrottlerStorage },
    { provide: APP_GUARD, useClass: RateLimitGuard },
  ],
  exports: [RedisThrottlerStorage],
})
export class RateLimitModule extends RateLimitConfigurableModule {}
