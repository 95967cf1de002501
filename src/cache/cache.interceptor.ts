import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { createHash } from 'node:crypto';
import { from, lastValueFrom, Observable } from 'rxjs';
import { HttpContext } from '../http';
import { runDecoratedCall } from './cache-decorated-call';
import { CACHE_EVICT_METADATA, CACHED_METADATA } from './cache.constants';
import { CacheEvictOptions, CachedOptions } from './cache.decorators';
import { CacheService } from './cache.service';

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/**
 * Reads `@Cached` / `@CacheEvict` metadata on routes and their controller class (the route's
 * own wins). The handler itself is not replaced, so route, pipe and OpenAPI metadata stay
 * intact. Global, so it runs outside route-scoped interceptors such as `@WithLock`'s: a cache
 * hit never takes a lock.
 *
 * Extension points (subclass it and pass it as `CacheModule.forRoot({ interceptor })`):
 * `callerIdentity()` ties per-caller keys to your auth (the default uses `req.user.id`, else a
 * hash of the credential headers); `fallbackKey()` names routes that give no `key`.
 */
@Injectable()
export class CacheInterceptor implements NestInterceptor {
  constructor(
    protected readonly reflector: Reflector,
    protected readonly cache: CacheService,
    protected readonly http: HttpContext,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'http') return next.handle();
    const targets = [ctx.getHandler(), ctx.getClass()];
    const cachedMeta = this.reflector.getAllAndOverride<CachedOptions | undefined>(
      CACHED_METADATA,
      targets,
    );
    const method = (HttpContext.raw(this.http.request(ctx)).method ?? 'GET').toUpperCase();
    const safe = SAFE_METHODS.has(method);
    // A route's own @CacheEvict always applies; the controller's applies to its writes (a
    // class-level eviction on GET routes would evict what their @Cached just stored).
    const evict =
      this.reflector.get<CacheEvictOptions | undefined>(CACHE_EVICT_METADATA, ctx.getHandler()) ??
      (safe
        ? undefined
        : this.reflector.get<CacheEvictOptions | undefined>(CACHE_EVICT_METADATA, ctx.getClass()));
    if (!cachedMeta && !evict) return next.handle();
    // Only safe methods are cached: a POST under @Cached still runs every time.
    const cached = cachedMeta && safe ? cachedMeta : undefined;
    if (!cached && !evict) return next.handle();
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
        if (result) {
          const header = result === 'stale' ? 'STALE' : result === 'hit' ? 'HIT' : 'MISS';
          this.http.setHeader(ctx, 'X-Cache', header);
        }
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
}
