import {
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  NestMiddleware,
} from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Observable } from 'rxjs';
import { HttpContext } from '../http/http-context';
import { MetricsService } from './metrics.service';

const ROUTE = Symbol('metrics:route');
type Tagged = IncomingMessage & { [ROUTE]?: string };

/**
 * Times every request on the raw Node objects (so it works on Fastify and Express and also
 * sees 404s and parser errors) and records it when the response finishes.
 */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: MetricsService) {}

  use(req: IncomingMessage, res: ServerResponse, next: () => void): void {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      this.metrics.httpDuration.observe(
        {
          method: req.method ?? 'GET',
          route: (req as Tagged)[ROUTE] ?? 'unmatched',
          status_code: String(res.statusCode),
        },
        seconds,
      );
    });
    next();
  }
}

/** Labels the request with its route template (`/api/users/:id`), never the raw URL (unbounded). */
@Injectable()
export class HttpRouteInterceptor implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() === 'http') {
      const parts = [
        Reflect.getMetadata(PATH_METADATA, ctx.getClass()),
        Reflect.getMetadata(PATH_METADATA, ctx.getHandler()),
      ]
        .flat()
        .filter((p): p is string => typeof p === 'string' && p !== '' && p !== '/')
        .map((p) => p.replace(/^\/|\/$/g, ''));
      (HttpContext.raw(ctx.switchToHttp().getRequest()) as Tagged)[ROUTE] = `/${parts.join('/')}`;
    }
    return next.handle();
  }
}
