import {
  Inject,
  Injectable,
  OnApplicationBootstrap,
  Optional,
  RequestMethod,
} from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { UNMATCHED } from './metrics.constants';
import { METRICS_MODULE_OPTIONS, type MetricsModuleOptions } from './metrics.module-definition';
import { MetricsService } from './metrics.service';
import { RedisCommandMetrics } from './redis-command-metrics';
import { enterRedisRequestCost } from './redis-request-cost';

interface Template {
  method: string;
  template: string;
  pattern: RegExp;
  /** Static segments first when two templates match (`/users/me` before `/users/:id`). */
  params: number;
}

/**
 * Every route template of the app (`/api/users/:id`), found from the controllers' metadata once
 * at start-up, and the one a request path falls under. The HTTP histogram labels requests with
 * it — never the raw URL, which is unbounded — including requests that fail before their
 * handler runs (malformed JSON, a body over the limit), on both platforms.
 */
@Injectable()
export class RouteTemplates implements OnApplicationBootstrap {
  private templates: Template[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  onApplicationBootstrap(): void {
    const found: Template[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const type = wrapper.metatype as (new (...args: unknown[]) => unknown) | undefined;
      if (!type) continue;
      const bases = paths(Reflect.getMetadata(PATH_METADATA, type));
      const proto = type.prototype as Record<string, unknown>;
      for (const name of this.scanner.getAllMethodNames(proto)) {
        const handler = proto[name] as object;
        const routePaths = Reflect.getMetadata(PATH_METADATA, handler) as unknown;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (routePaths === undefined || method === undefined) continue;
        for (const base of bases) {
          for (const path of paths(routePaths)) {
            const template = join(base, path);
            found.push({
              method: RequestMethod[method],
              template,
              pattern: toPattern(template),
              params: (template.match(/:/g) ?? []).length,
            });
          }
        }
      }
    }
    this.templates = found.sort((a, b) => a.params - b.params);
  }

  /** The template a request falls under, or {@link UNMATCHED}. */
  resolve(method: string | undefined, url: string | undefined): string {
    const path = (url ?? '/').split('?', 1)[0];
    const m = (method ?? 'GET').toUpperCase();
    for (const t of this.templates) {
      if (
        (t.method === m || t.method === 'ALL' || (m === 'HEAD' && t.method === 'GET')) &&
        t.pattern.test(path)
      )
        return t.template;
    }
    return UNMATCHED;
  }
}

function paths(meta: unknown): string[] {
  if (meta === undefined) return [''];
  return (Array.isArray(meta) ? meta : [meta]).map(String);
}

function join(...parts: string[]): string {
  const segments = parts.flatMap((p) => p.split('/')).filter((s) => s !== '');
  return `/${segments.join('/')}`;
}

function toPattern(template: string): RegExp {
  const body = template
    .split('/')
    .map((s) => (s.startsWith(':') ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${body}/?$`);
}

/**
 * Times every request on the Node server itself (a `request` listener placed before the
 * framework's), so it sees every request that reaches HTTP on both platforms — 404s and errors
 * raised before any handler or middleware included — and records it when the response
 * finishes, labelled with its route template. The same listener starts counting the request's
 * Redis cost (src/metrics/redis-request-cost.ts, when `redisRequestCost` is on) before the
 * framework runs anything. With `httpRequests: false` and no request cost it attaches nothing.
 */
@Injectable()
export class HttpRequestMetrics {
  private readonly enabled: boolean;

  constructor(
    private readonly metrics: MetricsService,
    private readonly routes: RouteTemplates,
    private readonly redisCommands: RedisCommandMetrics,
    @Optional() @Inject(METRICS_MODULE_OPTIONS) options: MetricsModuleOptions = {},
  ) {
    this.enabled = options.httpRequests !== false;
  }

  attach(server: Server): void {
    const redisCost = this.redisCommands.requestCost;
    if (!this.enabled) {
      if (redisCost) server.prependListener('request', (req) => enterRedisRequestCost(req));
      return;
    }
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      const start = process.hrtime.bigint();
      if (redisCost) enterRedisRequestCost(req);
      const url = req.url; // as received: routers may rewrite req.url on the way
      res.once('finish', () => {
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        this.metrics.httpDuration.observe(
          {
            method: req.method ?? 'GET',
            route: this.routes.resolve(req.method, url),
            status_code: String(res.statusCode),
          },
          seconds,
        );
      });
    });
  }
}
