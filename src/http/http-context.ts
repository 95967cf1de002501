import { ExecutionContext, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import type { KeyContext } from '../common';

/**
 * The one seam between modules and the HTTP framework. Interceptors and guards read and write
 * headers through here (backed by Nest's `HttpAdapterHost`), so no module imports Fastify or
 * Express types and every module works on both platforms.
 */
@Injectable()
export class HttpContext {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  /** The Node request under the framework's wrapper (Fastify `request.raw`, Express `req`). */
  static raw(request: unknown): IncomingMessage {
    const r = request as { raw?: IncomingMessage };
    return r.raw ?? (request as IncomingMessage);
  }

  /**
   * The authenticated user the identity step put on the request (`req.user`; on Fastify the
   * middleware layer sees the Node request, so it is read there too), or undefined.
   */
  static user(request: unknown): { id?: unknown } | undefined {
    const r = request as { user?: { id?: unknown } };
    return r.user ?? (HttpContext.raw(request) as { user?: { id?: unknown } }).user;
  }

  request(ctx: ExecutionContext): unknown {
    return ctx.switchToHttp().getRequest();
  }

  response(ctx: ExecutionContext): unknown {
    return ctx.switchToHttp().getResponse();
  }

  header(ctx: ExecutionContext, name: string): string | undefined {
    const v = HttpContext.raw(this.request(ctx)).headers[name.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  }

  setHeader(ctx: ExecutionContext, name: string, value: string): void {
    this.adapterHost.httpAdapter.setHeader(this.response(ctx), name, value);
  }

  /** A response header set from outside an ExecutionContext (services given the response). */
  setResponseHeader(response: unknown, name: string, value: string): void {
    this.adapterHost.httpAdapter.setHeader(response, name, value);
  }

  setStatus(ctx: ExecutionContext, status: number): void {
    this.adapterHost.httpAdapter.status(this.response(ctx), status);
  }

  /**
   * The one key context of a route call, for decorators that build keys from it (`@Cached`,
   * `@CacheEvict`, `@WithLock`): route params and query by name, handler arguments by position.
   */
  keyContext(ctx: ExecutionContext): KeyContext {
    const req = this.request(ctx) as {
      params?: Record<string, string>;
      query?: Record<string, unknown>;
    };
    return {
      on: 'route',
      args: ctx.getArgs(),
      params: { ...(req.params ?? {}) },
      query: { ...(req.query ?? {}) },
    };
  }

  /** Client IP as the platform resolved it (honours `TRUST_PROXY` through the adapter setup). */
  ip(ctx: ExecutionContext): string {
    const req = this.request(ctx) as { ip?: string };
    return req.ip ?? HttpContext.raw(req).socket.remoteAddress ?? 'unknown';
  }
}
