import { ConfigurableModuleBuilder } from '@nestjs/common';

/**
 * Options of {@link RateLimitModule}: the default limit every route gets (override per route
 * with `@Throttle`, opt out with `@SkipThrottle`). Times in ms.
 *
 * @example
 * RateLimitModule.forRoot({ limit: 100, windowMs: 60_000 })
 */
export interface RateLimitModuleOptions {
  /**
   * The limit on routes (the global guard). Default true; false lets every request through
   * without asking Redis (`@Throttle` routes included). The storage stays available to
   * callers that count on their own (login throttling).
   */
  enabled?: boolean;
  /** Requests per window, per client and route. */
  limit: number;
  /** Sliding window length. */
  windowMs: number;
  /**
   * Penalty after the limit is hit. Default 0: a refused client waits only until the window
   * has room (@nestjs/throttler's own default would block for a whole window).
   */
  blockDurationMs?: number;
}

export const {
  ConfigurableModuleClass: RateLimitConfigurableModule,
  MODULE_OPTIONS_TOKEN: RATE_LIMIT_MODULE_OPTIONS,
} = new ConfigurableModuleBuilder<RateLimitModuleOptions>({ moduleName: 'RateLimit' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
