import {
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  Optional,
} from '@nestjs/common';
import { ExternalContextCreator, Reflector } from '@nestjs/core';
import { createHash } from 'node:crypto';
import { from, lastValueFrom, Observable, of } from 'rxjs';
import { buildTags, compileKey, hasPlaceholders, type KeyContext } from '../common';
import { HttpContext, JSON_CONTENT_TYPE } from '../http';
import { runDecoratedCall } from './cache-decorated-call';
import { CACHE_EVICT_METADATA, CACHED_METADATA, type CacheResult } from './cache.constants';
import { CacheEvictOptions, CachedOptions } from './cache.decorators';
import { CacheService } from './cache.service';
import type { CacheOptions } from './cache.types';

const SAFE_METHODS = new Set(['GET', 'HEAD']);
const X_CACHE: Record<CacheResult, string | undefined> = {
  hit: 'HIT',
  stale: 'STALE',
  miss: 'MISS',
  error: 'MISS',
};
/**
 * Routes whose return value Nest does not send as the body (`@Redirect`, `@Render`, `@Sse`), and
 * a Fastify response schema (its serializer, not `JSON.stringify`, writes the body): a hit on
 * them is never sent as stored text. Nest's metadata keys (@nestjs/common and platform-fastify).
 */
const NOT_A_JSON_BODY = ['__redirect__', '__renderTemplate__', '__sse__'];
const FASTIFY_ROUTE_SCHEMA = '__fastify_route_schema__';

/** What a route's metadata says, read once per route (metadata does not change after start-up). */
interface RoutePlan {
  cached?: CachedOptions;
  /** The route's own `@CacheEvict`. */
  evict?: CacheEvictOptions;
  /** The controller's `@CacheEvict` (applies to writes only). */
  classEvict?: CacheEvictOptions;
  /** `cached.key` compiled. */
  key: (ctx: KeyContext, fallback: () => string) => string;
  /** The fetch options when `cached.tags` need no request (no placeholders, no function). */
  options?: CacheOptions;
  /** The route's return value is sent as the JSON body (see {@link NOT_A_JSON_BODY}). */
  jsonBody: boolean;
}

/**
 * Reads `@Cached` / `@CacheEvict` metadata on routes and their controller class (the route's
 * own wins). The handler itself is not replaced, so route, pipe and OpenAPI metadata stay
 * intact. Global, so it runs outside route-scoped interceptors such as `@WithLock`'s: a cache
 * hit never takes a lock.
 *
 * A hit on a value stored as plain JSON (an object or array with no Date in it) is sent as the
 * stored text, not parsed and serialised again: the same bytes, status and headers the platform
 * sends for the value (`Content-Type: application/json; charset=utf-8`). Only where nothing
 * could make them differ: this interceptor is the outermost one (no global interceptor before it
 * could map the value), the platform serialises with plain `JSON.stringify`, the route sends its
 * return value as the body (no `@Redirect`, `@Render`, `@Sse`, Fastify response schema) and no
 * Content-Type is set yet; otherwise the hit is parsed and returned as before.
 *
 * Extension points (subclass it and pass it as `CacheModule.forRoot({ interceptor })`):
 * `callerIdentity()` ties per-caller keys to your auth (the default uses `req.user.id`, else a
 * hash of the credential headers); `fallbackKey()` names routes that give no `key`.
 */
@Injectable()
export class CacheInterceptor implements NestInterceptor {
  /** Plans by controller class, then handler. */
  private readonly plans = new WeakMap<object, WeakMap<object, RoutePlan>>();
  /** Whether no global interceptor runs before this one; settled at the first request. */
  private outermost?: boolean;

  constructor(
    protected readonly reflector: Reflector,
    protected readonly cache: CacheService,
    protected readonly http: HttpContext,
    /** Nest's own context creator: the one place the list of global interceptors can be read. */
    @Optional() private readonly contexts?: ExternalContextCreator,
  ) {}

  intercept(
    ctx: ExecutionContext,
    next: CallHandler,
  ): Observable<unknown> | Promise<Observable<unknown>> {
    if (ctx.getType() !== 'http') return next.handle();
    const plan = this.planOf(ctx);
    if (!plan.cached && !plan.evict && !plan.classEvict) return next.handle();
    const method = (HttpContext.raw(this.http.request(ctx)).method ?? 'GET').toUpperCase();
    const safe = SAFE_METHODS.has(method);
    // A route's own @CacheEvict always applies; the controller's applies to its writes (a
    // class-level eviction on GET routes would evict what their @Cached just stored).
    const evict = plan.evict ?? (safe ? undefined : plan.classEvict);
    // Only safe methods are cached: a POST under @Cached still runs every time.
    const cached = safe ? plan.cached : undefined;
    if (!cached && !evict) return next.handle();
    if (cached && !evict) return this.fetch(ctx, next, plan, cached);
    const who = cached && cached.scope !== 'shared' ? this.callerIdentity(ctx) : undefined;
    return from(
      runDecoratedCall(
        this.cache,
        {
          cached,
          evict,
          keyContext: this.http.keyContext(ctx),
          fallbackKey: this.fallbackKey(ctx),
          callerSuffix: who ? `:u:${who}` : undefined,
        },
        () => lastValueFrom(next.handle(), { defaultValue: undefined }),
      ).then(({ value, result }) => {
        if (result) this.http.setHeader(ctx, 'X-Cache', X_CACHE[result]!);
        return value;
      }),
    );
  }

  /** A stable, non-reversible id of the caller, or undefined for an anonymous request. */
  protected callerIdentity(ctx: ExecutionContext): string | undefined {
    const user = HttpContext.user(this.http.request(ctx));
    if (typeof user?.id === 'string' || typeof user?.id === 'number') return String(user.id);
    const creds = [this.http.header(ctx, 'authorization'), this.http.header(ctx, 'cookie')]
      .filter(Boolean)
      .join('\n');
    return creds ? createHash('sha256').update(creds).digest('base64url').slice(0, 22) : undefined;
  }

  /** The key prefix of a route that gives no `key`: `<Controller>.<handler>`. */
  protected fallbackKey(ctx: ExecutionContext): string {
    return `${ctx.getClass().name}.${ctx.getHandler().name}`;
  }

  /**
   * A cached route without `@CacheEvict` (the everyday read): the same as `runDecoratedCall`
   * (key, then `fetch`), with the route's plan instead of its metadata, and a hit on plain JSON
   * sent as the stored text when nothing could make it differ (see the class comment).
   */
  private async fetch(
    ctx: ExecutionContext,
    next: CallHandler,
    plan: RoutePlan,
    cached: CachedOptions,
  ): Promise<Observable<unknown>> {
    const keyContext = this.http.liveKeyContext(ctx);
    const who = cached.scope !== 'shared' ? this.callerIdentity(ctx) : undefined;
    let key = plan.key(keyContext, () => this.fallbackKey(ctx));
    if (who) key += `:u:${who}`;
    const options = plan.options ?? { ...cached, tags: buildTags(cached.tags, keyContext) };
    const name = cached.cache ?? 'default';
    const asText = plan.jsonBody && this.isOutermost() && this.http.sendsPlainJson();
    const r = await this.cache.fetchForResponse(
      key,
      this.cache.entryKey(name, key),
      name,
      () => lastValueFrom(next.handle(), { defaultValue: undefined }),
      options,
      asText,
    );
    this.http.setHeader(ctx, 'X-Cache', X_CACHE[r.result]!);
    if (r.json === undefined) return of(r.value);
    const c = r.json.charCodeAt(0);
    // An object or array is what the platform sends as JSON; a string, number or null it sends
    // otherwise (text, or an empty body), so those are parsed and returned as values.
    if ((c === 0x7b || c === 0x5b) && this.http.responseHeader(ctx, 'content-type') === undefined) {
      this.http.setHeader(ctx, 'Content-Type', JSON_CONTENT_TYPE);
      return of(r.json);
    }
    return of(JSON.parse(r.json) as unknown);
  }

  private planOf(ctx: ExecutionContext): RoutePlan {
    const cls = ctx.getClass();
    const handler = ctx.getHandler();
    let byHandler = this.plans.get(cls);
    if (!byHandler) this.plans.set(cls, (byHandler = new WeakMap()));
    let plan = byHandler.get(handler);
    if (!plan) byHandler.set(handler, (plan = this.makePlan(cls, handler)));
    return plan;
  }

  private makePlan(cls: object, handler: object): RoutePlan {
    const cached = this.reflector.getAllAndOverride<CachedOptions | undefined>(CACHED_METADATA, [
      handler as () => unknown,
      cls as () => unknown,
    ]);
    const tags = cached?.tags;
    const staticTags =
      tags === undefined || (Array.isArray(tags) && !tags.some((t) => hasPlaceholders(t)));
    return {
      cached,
      evict: this.reflector.get<CacheEvictOptions | undefined>(
        CACHE_EVICT_METADATA,
        handler as () => unknown,
      ),
      classEvict: this.reflector.get<CacheEvictOptions | undefined>(
        CACHE_EVICT_METADATA,
        cls as () => unknown,
      ),
      key: compileKey(cached?.key),
      options: cached && staticTags ? { ...cached, tags } : undefined,
      jsonBody:
        !NOT_A_JSON_BODY.some((m) => Reflect.getMetadata(m, handler) !== undefined) &&
        !(Reflect.getMetadata(FASTIFY_ROUTE_SCHEMA, handler) as { response?: unknown } | undefined)
          ?.response,
    };
  }

  /**
   * Whether this interceptor runs first: a global interceptor registered before it (with
   * `app.useGlobalInterceptors()` or an earlier `APP_INTERCEPTOR`) may map the returned value,
   * so it must get the value, not its JSON text. Read from Nest's global interceptor list; when
   * that cannot be read, assume something runs before.
   */
  private isOutermost(): boolean {
    if (this.outermost === undefined) {
      const config = (
        this.contexts as unknown as
          | { interceptorsContextCreator?: { config?: { getGlobalInterceptors?(): unknown[] } } }
          | undefined
      )?.interceptorsContextCreator?.config;
      const globals = config?.getGlobalInterceptors?.();
      this.outermost = Array.isArray(globals) && globals[0] === this;
    }
    return this.outermost;
  }
}
