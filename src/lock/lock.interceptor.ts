import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { from, lastValueFrom, Observable } from 'rxjs';
import { buildKey } from '../common';
import { LockService } from './lock.service';
import { WITH_LOCK_METADATA, WithLockOptions } from './with-lock.decorator';

/** Applies `@WithLock` on controller methods (metadata only: routes and OpenAPI stay intact). */
@Injectable()
export class LockInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly locks: LockService,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const options = this.reflector.get<WithLockOptions | undefined>(
      WITH_LOCK_METADATA,
      ctx.getHandler(),
    );
    if (!options || ctx.getType() !== 'http') return next.handle();
    const req = ctx
      .switchToHttp()
      .getRequest<{ params?: Record<string, string>; query?: Record<string, unknown> }>();
    const resource = buildKey(
      options.key,
      { args: ctx.getArgs(), params: { ...(req.params ?? {}) }, query: { ...(req.query ?? {}) } },
      '',
      true,
    );
    return from(
      this.locks.using(resource, options, () =>
        lastValueFrom(next.handle(), { defaultValue: undefined }),
      ),
    );
  }
}
