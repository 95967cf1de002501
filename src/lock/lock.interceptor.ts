import { CallHandler, ExecutionContext, Inject, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { from, lastValueFrom, Observable } from 'rxjs';
import { buildKey } from '../common';
import { HttpContext } from '../http';
import { LOCK_INTERCEPTOR, WITH_LOCK_METADATA } from './lock.constants';
import { LockService } from './lock.service';
import type { WithLockOptions } from './with-lock.decorator';

/**
 * Runs a route that carries `@WithLock` (on the route or its controller class; the route's own
 * wins) holding the lock, extending it while the handler runs. Metadata only: routes and
 * OpenAPI stay intact.
 *
 * Extension point (subclass it and pass it as `LockModule.forRoot({ interceptor })`):
 * `lockResource()` decides the resource of a call (default: the decorator's `key` filled from
 * route params, query and arguments).
 */
@Injectable()
export class LockInterceptor implements NestInterceptor {
  constructor(
    protected readonly reflector: Reflector,
    protected readonly locks: LockService,
    protected readonly http: HttpContext,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const options = this.reflector.getAllAndOverride<WithLockOptions | undefined>(
      WITH_LOCK_METADATA,
      [ctx.getHandler(), ctx.getClass()],
    );
    if (!options || ctx.getType() !== 'http') return next.handle();
    const resource = this.lockResource(ctx, options);
    return from(
      this.locks.using(resource, options, () =>
        lastValueFrom(next.handle(), { defaultValue: undefined }),
      ),
    );
  }

  protected lockResource(ctx: ExecutionContext, options: WithLockOptions): string {
    return buildKey(options.key, this.http.keyContext(ctx));
  }
}

/**
 * What `@WithLock` binds on a route: a route-scoped interceptor, so it always runs inside the
 * global ones (the cache's: a cache hit never takes the lock), whatever order modules are
 * imported in. It hands the call to the LockModule's interceptor (yours, if you configured one).
 */
@Injectable()
export class WithLockRouteInterceptor implements NestInterceptor {
  constructor(@Inject(LOCK_INTERCEPTOR) private readonly impl: LockInterceptor) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    return this.impl.intercept(ctx, next);
  }
}
