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
  type ThrottlerOptions,
} from '@nestjs/throttler';
import type {
  ThrottlerGenerateKeyFunction,
  ThrottlerGetTrackerFunction,
} from '@nestjs/throttler/dist/throttler-module-options.interface';
import {
  THROTTLER_BLOCK_DURATION,
  THROTTLER_KEY_GENERATOR,
  THROTTLER_LIMIT,
  THROTTLER_SKIP,
  THROTTLER_TRACKER,
  THROTTLER_TTL,
} from '@nestjs/throttler/dist/throttler.constants';
import type { ThrottlerRequest } from '@nestjs/throttler/dist/throttler.guard.interface';
import { createHash } from 'node:crypto';
import { RateLimitedLogger } from '../common';
import { HttpContext } from '../http';
import { MetricsService } from '../metrics';
import { RateLimitLeases, type LeaseDecision } from './rate-limit-leases';
import {
  leaseSize,
  RATE_LIMIT_MODULE_OPTIONS,
  type RateLimitModuleOptions,
} from './rate-limit.module-definition';
import { RedisThrottlerStorage, type RateLimitDecision } from './redis-throttler.storage';

const LOG_INTERVAL_MS = 10_000;
/** Memoized storage keys (the sha256 @nestjs/throttler's generateKey computes per request). */
const KEY_MEMO_MAX = 10_000;

type Resolvable = number | ((context: ExecutionContext) => number | Promise<number>) | undefined;

/** What a route's metadata says for one throttler: read once per handler and class, not per request. */
interface RoutePlan {
  throttler: ThrottlerOptions;
  skip: boolean;
  limit: Resolvable;
  ttl: Resolvable;
  blockDuration: Resolvable;
  getTracker: ThrottlerGetTrackerFunction;
  generateKey: ThrottlerGenerateKeyFunction;
}

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
 * `@Throttle()` and `@SkipThrottle()` from @nestjs/throttler work as usual. A route's throttler
 * metadata is read once per handler (the parent reads it with six reflector lookups per request),
 * and the storage key's sha256 is memoized.
 *
 * Approximate mode (`mode: 'approximate'`): admissions come from a local lease drawn from Redis
 * ({@link RateLimitLeases}); the headers then show this instance's view of the budget.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  private readonly failures = new RateLimitedLogger(new Logger('RateLimit'), LOG_INTERVAL_MS);
  private readonly decisions;
  private readonly allowedCount;
  private readonly limitedCount;
  private readonly plans = new WeakMap<object, WeakMap<object, RoutePlan[]>>();
  private readonly keyMemo = new Map<string, string>();
  private readonly leases: RateLimitLeases | undefined;
  private readonly enabled: boolean;

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    // Explicit: the parent's @InjectThrottlerStorage() on this index would otherwise be inherited.
    @Inject(RedisThrottlerStorage) private readonly store: RedisThrottlerStorage,
    reflector: Reflector,
    private readonly http: HttpContext,
    @Optional() metrics: MetricsService = MetricsService.standalone(),
    @Optional()
    @Inject(RATE_LIMIT_MODULE_OPTIONS)
    private readonly moduleOptions: RateLimitModuleOptions | undefined = undefined,
  ) {
    super(options, store, reflector);
    this.enabled = moduleOptions?.enabled !== false;
    this.decisions = metrics.counter({
      name: 'rate_limit_total',
      help: 'Rate-limit decisions by result',
      labelNames: ['result'],
    });
    this.allowedCount = this.decisions.labels({ result: 'allowed' });
    this.limitedCount = this.decisions.labels({ result: 'limited' });
    if (moduleOptions?.mode === 'approximate') this.leases = new RateLimitLeases();
  }

  /** `enabled: false` (`RATE_LIMIT=off`): every request passes, nothing is asked of Redis. */
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    if (!this.enabled || (await this.shouldSkip(context))) return true;
    let ok = true;
    for (const p of this.plan(context)) {
      if (p.skip || (p.throttler.skipIf ?? this.commonOptions.skipIf)?.(context)) continue;
      const name = p.throttler.name ?? 'default';
      const limit = await this.resolve(context, p.limit, 'limit', name);
      const ttl = await this.resolve(context, p.ttl, 'ttl', name);
      const blockDuration =
        p.blockDuration === undefined
          ? ttl
          : await this.resolve(context, p.blockDuration, 'blockDuration', name);
      const passed = await this.handleRequest({
        context,
        limit,
        ttl,
        throttler: p.throttler,
        blockDuration,
        getTracker: p.getTracker,
        generateKey: p.generateKey,
      });
      ok &&= passed;
    }
    return ok;
  }

  /** The throttlers' metadata for this handler and class, as ThrottlerGuard.canActivate reads it. */
  private plan(context: ExecutionContext): RoutePlan[] {
    const handler = context.getHandler();
    const classRef = context.getClass();
    let byClass = this.plans.get(handler);
    const cached = byClass?.get(classRef);
    if (cached) return cached;
    const targets = [handler, classRef];
    const plan = this.throttlers.map((t): RoutePlan => {
      const meta = <T>(k: string): T | undefined =>
        this.reflector.getAllAndOverride<T | undefined>(k + t.name, targets);
      return {
        throttler: t,
        skip: Boolean(meta<boolean>(THROTTLER_SKIP)),
        limit: meta<Resolvable>(THROTTLER_LIMIT) ?? t.limit,
        ttl: meta<Resolvable>(THROTTLER_TTL) ?? t.ttl,
        blockDuration: meta<Resolvable>(THROTTLER_BLOCK_DURATION) ?? t.blockDuration,
        getTracker:
          meta<ThrottlerGetTrackerFunction>(THROTTLER_TRACKER) ??
          t.getTracker ??
          this.commonOptions.getTracker!,
        generateKey:
          meta<ThrottlerGenerateKeyFunction>(THROTTLER_KEY_GENERATOR) ??
          t.generateKey ??
          this.commonOptions.generateKey!,
      };
    });
    if (!byClass) this.plans.set(handler, (byClass = new WeakMap()));
    byClass.set(classRef, plan);
    return plan;
  }

  private async resolve(
    context: ExecutionContext,
    value: Resolvable,
    option: string,
    throttlerName: string,
  ): Promise<number> {
    const v: unknown = typeof value === 'function' ? await value(context) : value;
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof n !== 'number' || Number.isNaN(n))
      throw new Error(
        `Invalid "${option}" for the "${throttlerName}" throttler: expected a number, got ${JSON.stringify(v)}.`,
      );
    return n;
  }

  /** @nestjs/throttler's key (sha256 of class, handler, throttler and tracker), memoized. */
  protected override generateKey(context: ExecutionContext, suffix: string, name: string): string {
    const text = `${context.getClass().name}-${context.getHandler().name}-${name}-${suffix}`;
    let key = this.keyMemo.get(text);
    if (key === undefined) {
      key = createHash('sha256').update(text).digest('hex');
      if (this.keyMemo.size >= KEY_MEMO_MAX) this.keyMemo.clear();
      this.keyMemo.set(text, key);
    }
    return key;
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
    let decision: RateLimitDecision | LeaseDecision;
    try {
      // blockDuration as resolved by canActivate (route, then throttler, then ttl): the
      // storage honours it, and its wait covers both the block and the window.
      decision = this.leases
        ? await this.leases.take(key, leaseSize(limit, this.moduleOptions!), (n) =>
            this.store.reserve(key, ttl, limit, n, blockDuration, name),
          )
        : await this.store.check(key, ttl, limit, blockDuration, name);
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
      this.allowedCount.inc();
      return true;
    }
    this.limitedCount.inc();
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
