import { ConfigurableModuleBuilder, type ExecutionContext } from '@nestjs/common';

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
  /**
   * `exact` (default): every request runs the sliding-window script in Redis (one EVALSHA).
   * `approximate`: for very hot routes, each instance draws a lease of admissions from Redis
   * (counted there at once) and admits from it locally until it is used up or the Redis window
   * ends. Never more requests per window than exact mode; up to `lease − 1` admissions per
   * instance and client can go unused, and a block set by another instance takes effect here
   * when the local lease runs out (README § Rate limiting).
   */
  mode?: 'exact' | 'approximate';
  /** Approximate mode: the lease is this share of a route's limit (default 0.01), at least 1. */
  leaseShare?: number;
  /** Approximate mode: the most admissions one lease holds (default 100). */
  maxLease?: number;
  /**
   * Requests no limit applies to (@nestjs/throttler's `skipIf`), decided per request before any
   * Redis command. Base it on what the server can trust, never on what the client sends (a
   * header, the User-Agent): the identity step has set `req.user` by the time it runs.
   *
   * @example
   * skipIf: (ctx) => ctx.switchToHttp().getRequest<{ user?: { roles?: string[] } }>().user?.roles?.includes('admin') === true
   */
  skipIf?: (context: ExecutionContext) => boolean;
}

/** Lease size of the approximate mode for a route's limit. */
export function leaseSize(limit: number, o: RateLimitModuleOptions): number {
  const share = o.leaseShare ?? 0.01;
  const max = o.maxLease ?? 100;
  return Math.max(1, Math.min(max, Math.floor(limit * share)));
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
