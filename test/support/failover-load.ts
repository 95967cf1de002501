import { Controller, Get, Module } from '@nestjs/common';
import { Throttle } from '@nestjs/throttler';
import { http } from './app';

/** A route with a tight limit of its own (`RATE_LIMIT_TEST` per client and hour) for HA suites: an hour, so no window boundary falls inside a test and shifts the count. */
export const RATE_LIMIT_TEST = 3;

@Controller('test-ha')
class LimitedController {
  @Get('limited')
  @Throttle({ default: { limit: RATE_LIMIT_TEST, ttl: 3_600_000 } })
  limited(): { ok: true } {
    return { ok: true };
  }
}

@Module({ controllers: [LimitedController] })
export class LimitedRouteModule {}

/** Sends a request from a client of its own (`X-Forwarded-For`; the app must run with TRUST_PROXY=true). */
export function asClient(ip: string): Record<string, string> {
  return { 'x-forwarded-for': ip };
}

export type LoadRoute = 'cache' | 'lock' | 'counter' | 'rateLimit';
export type LoadPhase = 'before' | 'outage' | 'after';

/** Status codes seen per phase and route (0 = the request itself failed: reset, refused). */
export type LoadReport = Record<LoadPhase, Record<LoadRoute, Record<number, number>>>;

/**
 * What users may see on each route at any time, failover included: the cache, counters and the
 * rate limiter fail open (never an error), the lock fails closed (503) and is contended by the
 * other load loops (409). Anything else (a 500, a dropped connection) is a bug.
 */
export const ALLOWED: Record<LoadRoute, number[]> = {
  cache: [200],
  lock: [200, 409, 503],
  counter: [200],
  rateLimit: [200, 429],
};

/**
 * A steady stream of requests against one app while a test breaks its Redis: for each route,
 * `callers` independent clients send one request after another until {@link stop}: a cached
 * read (`GET /api/users/1`), a locked read-modify-write (`PATCH /api/users/:lockedUser`), a
 * counted page view (`GET /api/pages/1`) and a rate-limited route. Routes do not wait for each
 * other, so a route that is slow during an outage does not hide how the others answer. The
 * test moves the phase along (before → outage → after); the report says what each route
 * answered in each phase.
 */
export class FailoverLoad {
  private phase: LoadPhase = 'before';
  private running = true;
  private readonly report: LoadReport = {
    before: { cache: {}, lock: {}, counter: {}, rateLimit: {} },
    outage: { cache: {}, lock: {}, counter: {}, rateLimit: {} },
    after: { cache: {}, lock: {}, counter: {}, rateLimit: {} },
  };
  private readonly callers: Promise<void>[] = [];
  private done = 0;

  constructor(url: string, options: { callers?: number; lockedUser?: number } = {}) {
    const lockedUser = options.lockedUser ?? 2;
    for (let c = 0; c < (options.callers ?? 2); c++) {
      this.callers.push(
        this.repeat('cache', () => `${url}/api/users/1`),
        this.repeat(
          'lock',
          () => `${url}/api/users/${lockedUser}`,
          (i) => ({
            method: 'PATCH',
            body: { name: `load ${c}.${i}` },
          }),
        ),
        this.repeat('counter', () => `${url}/api/pages/1`),
        this.repeat(
          'rateLimit',
          () => `${url}/test-ha/limited`,
          () => ({
            headers: asClient('10.0.0.1'),
          }),
        ),
      );
    }
  }

  /** Requests answered so far, in every phase. */
  get completed(): number {
    return this.done;
  }

  enter(phase: LoadPhase): void {
    this.phase = phase;
  }

  /** Requests answered in a phase on a route. */
  count(phase: LoadPhase, route: LoadRoute, status?: number): number {
    const seen = this.report[phase][route];
    if (status !== undefined) return seen[status] ?? 0;
    return Object.values(seen).reduce((a, b) => a + b, 0);
  }

  /** Statuses seen on a route that {@link ALLOWED} does not allow, as `phase route status×count`. */
  unexpected(): string[] {
    const out: string[] = [];
    for (const [phase, routes] of Object.entries(this.report)) {
      for (const [route, seen] of Object.entries(routes)) {
        for (const [status, n] of Object.entries(seen)) {
          if (!ALLOWED[route as LoadRoute].includes(Number(status)))
            out.push(`${phase} ${route} ${status}×${n}`);
        }
      }
    }
    return out;
  }

  /** Waits until `n` more requests have been answered. */
  async waitFor(n: number): Promise<void> {
    const target = this.done + n;
    while (this.done < target && this.running) await new Promise((r) => setTimeout(r, 20));
  }

  async stop(): Promise<LoadReport> {
    this.running = false;
    await Promise.all(this.callers);
    return this.report;
  }

  private async repeat(
    route: LoadRoute,
    url: () => string,
    init: (i: number) => Parameters<typeof http>[1] = () => ({}),
  ): Promise<void> {
    for (let i = 0; this.running; i++) await this.send(route, url(), init(i));
  }

  private async send(route: LoadRoute, url: string, init: Parameters<typeof http>[1] = {}) {
    const phase = this.phase;
    const status = await http(url, init).then(
      (r) => r.status,
      () => 0,
    );
    const seen = this.report[phase][route];
    seen[status] = (seen[status] ?? 0) + 1;
    this.done++;
  }
}
