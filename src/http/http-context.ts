import { ExecutionContext, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import type { KeyContext } from '../common';

/**
 * The one seam between modules and the HTTP framework. Interceptors and guards read and write
 * headers through here (backed by Nest's `HttpAdapterHost`), so no module imports Fastify or
 * Express types and every module works on both platforms.
 */
/** What both platforms send with an object body (Fastify's and Express's `res.json()` alike). */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

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

  // The arguments of an HTTP context are [request, response, next]: read them by index, as
  // switchToHttp() does, without the three closures it makes on every call.
  request(ctx: ExecutionContext): unknown {
    return ctx.getArgByIndex(0);
  }

  response(ctx: ExecutionContext): unknown {
    return ctx.getArgByIndex(1);
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

  /** A response header already set (by a middleware, `@Header()`, an earlier step), or undefined. */
  responseHeader(ctx: ExecutionContext, name: string): unknown {
    return this.adapterHost.httpAdapter.getHeader(this.response(ctx), name);
  }

  /**
   * Whether the platform sends an object body as exactly `JSON.stringify(body)` with
   * `Content-Type: application/json; charset=utf-8`, so JSON text made by `JSON.stringify` can be
   * sent in its place (see {@link JSON_CONTENT_TYPE}): Fastify without a custom reply serializer
   * (`setReplySerializer`), Express without the `json spaces`, `json replacer` or `json escape`
   * settings. Settled at the first call (they are set at start-up); false on other platforms.
   */
  sendsPlainJson(): boolean {
    if (this.plainJson === undefined) this.plainJson = this.checkPlainJson();
    return this.plainJson;
  }

  private plainJson?: boolean;

  private checkPlainJson(): boolean {
    const adapter = this.adapterHost.httpAdapter;
    const type = adapter?.getType();
    if (type === 'express') {
      const app = adapter.getInstance<{ get(setting: string): unknown }>();
      return !app.get('json spaces') && !app.get('json replacer') && !app.get('json escape');
    }
    if (type === 'fastify') {
      // Fastify keeps the app-wide serializer under a private symbol (null when not set); an
      // instance where it cannot be found counts as customised.
      const instance = adapter.getInstance<Record<symbol, unknown>>();
      const sym = Object.getOwnPropertySymbols(instance).find(
        (s) => s.description === 'fastify.replySerializerDefault',
      );
      return sym !== undefined && instance[sym] === null;
    }
    return false;
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

  /**
   * {@link keyContext} for keys built at once, before the handler runs: the request's own
   * params and query, not copies of them.
   */
  liveKeyContext(ctx: ExecutionContext): KeyContext {
    const req = this.request(ctx) as {
      params?: Record<string, string>;
      query?: Record<string, unknown>;
    };
    return { on: 'route', args: ctx.getArgs(), params: req.params ?? {}, query: req.query ?? {} };
  }

  /** Client IP as the platform resolved it (honours `TRUST_PROXY` through the adapter setup). */
  ip(ctx: ExecutionContext): string {
    const req = this.request(ctx) as { ip?: string };
    return req.ip ?? HttpContext.raw(req).socket.remoteAddress ?? 'unknown';
  }
}
