import {
  ExecutionContext,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  Logger,
  Optional,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  ThrottlerGuard,
  type ThrottlerModuleOptions,
} from '@nestjs/throttler';
import type { ThrottlerRequest } from '@nestjs/throttler/dist/throttler.guard.interface';
import { RateLimitedLogger } from '../common';
import { HttpContext } from '../http';
import { MetricsService } from '../metrics';
import {
  RATE_LIMIT_MODULE_OPTIONS,
  type RateLimitModuleOptions,
} from './rate-limit.module-definition';
import { RedisThrottlerStorage } from './redis-throttler.storage';

const LOG_INTERVAL_MS = 10_000;

/**
 * `ThrottlerGuard` with this project's storage and headers:
 * - client identity: the authenticated user (`req.user.id`) when there is one, else the IP as
 *   the platform resolved it (`TRUST_PROXY` decides whether X-Forwarded-For counts);
 * - IETF headers (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy` and `RateLimit` on
 *   every response, `Retry-After` on 429, written through the platform seam;
 * - 429 body: JSON with the limit and when to retry;
 * - `blockDuration` is passed to the storage unchanged: after a refusal the client waits
 *   max(blockDuration, until the window has room), and `Retry-After` says exactly that long.
 * Failure policy: **fail open** (as Stripe does): if Redis cannot answer, the request is
 * allowed, counted in `rate_limit_total{result="error"}` and logged at most every 10 s.
 * `@Throttle()` and `@SkipThrottle()` from @nestjs/throttler work as usual.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  private readonly failures = new RateLimitedLogger(new Logger('RateLimit'), LOG_INTERVAL_MS);
  private readonly decisions;
  private readonly enabled: boolean;

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    // Explicit: the parent's @InjectThrottlerStorage() on this index would otherwise be inherited.
    @Inject(RedisThrottlerStorage) private readonly store: RedisThrottlerStorage,
    reflector: Reflector,
    private readonly http: HttpContext,
    @Optional() metrics: MetricsService = MetricsService.standalone(),
    @Optional() @Inject(RATE_LIMIT_MODULE_OPTIONS) moduleOptions?: RateLimitModuleOptions,
  ) {
    super(options, store, reflector);
    this.enabled = moduleOptions?.enabled !== false;
    this.decisions = metrics.counter({
      name: 'rate_limit_total',
      help: 'Rate-limit decisions by result',
      labelNames: ['result'],
    });
  }

  /** `enabled: false` (`RATE_LIMIT=off`): every request passes, nothing is asked of Redis. */
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    return this.enabled ? super.canActivate(context) : true;
  }

  /**
   * HTTP requests only: a WebSocket message handler (`@SubscribeMessage`) has no response to
   * carry the RateLimit headers, and the socket was admitted by its handshake.
   */
  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    return context.getType() !== 'http' || super.shouldSkip(context);
  }

  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    const user = HttpContext.user(req);
    if (typeof user?.id === 'string' || typeof user?.id === 'number') return `user:${user.id}`;
    return `ip:${(req.ip as string | undefined) ?? 'unknown'}`;
  }

  protected override async handleRequest(p: ThrottlerRequest): Promise<boolean> {
    const { context, limit, ttl, throttler, blockDuration, getTracker, generateKey } = p;
    const { req } = this.getRequestResponse(context);
    const tracker = await getTracker(req, context);
    const name = throttler.name ?? 'default';
    const key = generateKey(context, tracker, name);
    let decision;
    try {
      // blockDuration as resolved by ThrottlerGuard (route, then throttler, then ttl): the
      // storage honours it, and its wait covers both the block and the window.
      decision = await this.store.check(key, ttl, limit, blockDuration, name);
    } catch (err) {
      if (err instanceof RangeError) throw err; // a misconfigured throttler, not Redis
      this.decisions.inc({ result: 'error' });
      this.failures.warn(
        `rate limiting skipped, Redis unavailable (fail open): ${(err as Error).message}`,
      );
      return true;
    }
    const windowS = Math.ceil(ttl / 1000);
    this.http.setHeader(context, 'RateLimit-Policy', `"${name}";q=${limit};w=${windowS}`);
    const resetS = Math.ceil((decision.allowed ? decision.resetMs : decision.retryAfterMs) / 1000);
    this.http.setHeader(context, 'RateLimit', `"${name}";r=${decision.remaining};t=${resetS}`);
    if (decision.allowed) {
      this.decisions.inc({ result: 'allowed' });
      return true;
    }
    this.decisions.inc({ result: 'limited' });
    const retryS = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
    this.http.setHeader(context, 'Retry-After', String(retryS));
    throw new HttpException(
      {
        statusCode: HttpStatus.TOO_MANY_REQUESTS,
        error: 'Too Many Requests',
        message: `Rate limit of ${limit} requests per ${windowS} s exceeded; retry in ${retryS} s`,
        retryAfter: retryS,
      },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}
