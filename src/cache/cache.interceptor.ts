import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { createHash } from 'node:crypto';
import { from, lastValueFrom, mergeMap, Observable } from 'rxjs';
import { HttpContext } from '../http';
import { buildKey, buildTags } from '../common';
import { CACHE_EVICT_METADATA, CACHED_METADATA } from './cache.constants';
import { CacheEvictOptions, CachedOptions, CacheKeyContext } from './cache.decorators';
import { CacheService } from './cache.service';

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/**
 * Reads `@Cached` / `@CacheEvict` metadata on controller methods. The handler itself is not
 * replaced, so route, pipe and OpenAPI metadata stay intact. Override `callerIdentity()` to
 * tie per-caller keys to your auth (the default hashes the credentials headers).
 */
@Injectable()
export class CacheInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly cache: CacheService,
    private readonly http: HttpContext,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'http') return next.handle();
    const cached = this.reflector.get<CachedOptions | undefined>(CACHED_METADATA, ctx.getHandler());
    const evict = this.reflector.get<CacheEvictOptions | undefined>(
      CACHE_EVICT_METADATA,
      ctx.getHandler(),
    );
    if (!cached && !evict) return next.handle();

    const keyCtx = this.keyContext(ctx);
    const method = (HttpContext.raw(this.http.request(ctx)).method ?? 'GET').toUpperCase();

    if (evict) {
      return next
        .handle()
        .pipe(mergeMap((value) => from(this.evict(evict, keyCtx).then(() => value))));
    }
    if (!cached || !SAFE_METHODS.has(method)) return next.handle();

    let key = buildKey(cached.key, keyCtx, `${ctx.getClass().name}.${ctx.getHandler().name}`, true);
    if (cached.scope !== 'shared') {
      const who = this.callerIdentity(ctx);
      if (who) key = `${key}:u:${who}`;
    }
    const tags = buildTags(cached.tags, keyCtx, true);
    return from(
      this.cache
        .fetch(key, () => lastValueFrom(next.handle(), { defaultValue: undefined }), {
          ...cached,
          tags,
        })
        .then((r) => {
          this.http.setHeader(
            ctx,
            'X-Cache',
            r.result === 'stale' ? 'STALE' : r.result === 'hit' ? 'HIT' : 'MISS',
          );
          return r.value;
        }),
    );
  }

  /** A stable, non-reversible id of the caller, or undefined for an anonymous request. */
  protected callerIdentity(ctx: ExecutionContext): string | undefined {
    const req = this.http.request(ctx) as { user?: { id?: unknown } };
    if (typeof req.user?.id === 'string' || typeof req.user?.id === 'number')
      return String(req.user.id);
    const creds = [this.http.header(ctx, 'authorization'), this.http.header(ctx, 'cookie')]
      .filter(Boolean)
      .join('\n');
    return creds ? createHash('sha256').update(creds).digest('base64url').slice(0, 22) : undefined;
  }

  private keyContext(ctx: ExecutionContext): CacheKeyContext {
    const req = this.http.request(ctx) as {
      params?: Record<string, string>;
      query?: Record<string, unknown>;
    };
    return {
      args: ctx.getArgs(),
      params: { ...(req.params ?? {}) },
      query: { ...(req.query ?? {}) },
    };
  }

  private async evict(o: CacheEvictOptions, keyCtx: CacheKeyContext): Promise<void> {
    const keys = (o.keys ?? []).map((k) => buildKey(k, keyCtx, '', true));
    const tags = buildTags(o.tags, keyCtx, true) ?? [];
    await Promise.all([
      keys.length ? this.cache.del(keys, { cache: o.cache }) : undefined,
      tags.length ? this.cache.invalidateTags(tags, { cache: o.cache }) : undefined,
    ]);
  }
}
