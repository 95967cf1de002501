import { Controller, DynamicModule, Get, INestApplication, Module } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { CacheService } from '../../src/cache';
import { HttpModule } from '../../src/http';
import { RateLimitModule } from '../../src/rate-limit';
import { RedisModule } from '../../src/redis';
import type { RedisTopology } from '../../src/redis';
import { Inventory, MinimalAppModule } from '../fixtures/minimal-app';
import { http, PLATFORMS, sharedRedisEnv, testPrefix } from '../support/app';

/** The shared test Redis as a topology (standalone, or the Cluster of `npm run test:cluster`). */
function sharedTopology(): RedisTopology {
  const env = sharedRedisEnv();
  if (env.REDIS_CLUSTER_NODES) {
    return {
      mode: 'cluster',
      nodes: env.REDIS_CLUSTER_NODES.split(',').map((hp) => {
        const [host, port] = hp.split(':');
        return { host, port: Number(port) };
      }),
    };
  }
  return { mode: 'standalone', url: env.REDIS_URL };
}

/** `root` as a Nest app on `platform` with the platform's own defaults, listening on a free port. */
async function listen(
  platform: (typeof PLATFORMS)[number],
  root: DynamicModule,
): Promise<{ app: INestApplication; url: string }> {
  const moduleRef = await Test.createTestingModule({ imports: [root] }).compile();
  const app = moduleRef.createNestApplication(
    platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(),
    { logger: false },
  );
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
  return { app, url };
}

/**
 * Another team's Nest app that imports only RedisModule, CacheModule and LockModule from their
 * public faces, with explicit options (test/fixtures/minimal-app.ts): the decorators work there,
 * on both platforms, with the platforms' own defaults (none of this app's HTTP setup).
 */
describe.each(PLATFORMS)('a minimal app reusing our modules, on %s', (platform) => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    ({ app, url } = await listen(
      platform,
      MinimalAppModule.create(sharedTopology(), testPrefix(__filename)),
    ));
  });
  afterAll(async () => {
    await app?.close();
  });

  it('@Cached on a route: MISS then HIT, and 50 concurrent cold requests load once', async () => {
    const first = await http(`${url}/items/1`);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('MISS');
    const second = await http(`${url}/items/1`);
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(second.body).toEqual(first.body);
    const burst = await Promise.all(Array.from({ length: 50 }, () => http(`${url}/items/2`)));
    expect(new Set(burst.map((r) => r.body.loads))).toEqual(new Set([1]));
    expect(app.get(Inventory).loads.get(-2)).toBe(1);
  });

  it('@Cached on a service method: one load for many calls', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, () => http(`${url}/items/7/price`)),
    );
    expect(new Set(results.map((r) => r.body.loads))).toEqual(new Set([1]));
    expect(app.get(Inventory).loads.get(7)).toBe(1);
  });

  it('@WithLock on a service method: 40 concurrent read-modify-writes all land, with increasing fencing tokens', async () => {
    const inventory = app.get(Inventory);
    const res = await Promise.all(
      Array.from({ length: 40 }, () => http(`${url}/items/3/reserve`, { method: 'POST' })),
    );
    expect(res.every((r) => r.status === 201)).toBe(true);
    expect(inventory.stock.get(3)).toBe(60);
    const tokens = inventory.tokens;
    expect(tokens.every((t, i) => i === 0 || t > tokens[i - 1])).toBe(true);
  });

  it('@WithLock on a route: concurrent callers of a running report get 409', async () => {
    const res = await Promise.all(
      Array.from({ length: 5 }, () => http(`${url}/items/report`, { method: 'POST' })),
    );
    expect(res.filter((r) => r.status === 201)).toHaveLength(1);
    expect(res.filter((r) => r.status === 409)).toHaveLength(4);
  });

  it('caches without a global LockModule, refusing only the fleet lock (lock: true) with an error naming what it needs', async () => {
    const cache = app.get(CacheService);
    expect(await cache.getOrSet('plain', () => 'v')).toBe('v');
    await expect(cache.getOrSet('fleet', () => 'v', { lock: true })).rejects.toThrow(
      /lock: true.*LockModule/,
    );
  });
});

@Controller('limited')
class LimitedController {
  @Get()
  hit(): { ok: true } {
    return { ok: true };
  }
}

/** Another team's app with only RedisModule, HttpModule and RateLimitModule, and a `skipIf`. */
@Module({})
class RateLimitedAppModule {
  static create(topology: RedisTopology, prefix: string): DynamicModule {
    return {
      module: RateLimitedAppModule,
      imports: [
        RedisModule.forRoot({ prefix, state: { topology } }),
        HttpModule,
        RateLimitModule.forRoot({
          limit: 2,
          windowMs: 60_000,
          // A header stands in here for what a real app would trust (req.user's roles, mTLS).
          skipIf: (ctx) =>
            ctx.switchToHttp().getRequest<{ headers: Record<string, unknown> }>().headers[
              'x-test-exempt'
            ] === 'yes',
        }),
      ],
      controllers: [LimitedController],
    };
  }
}

describe.each(PLATFORMS)('RateLimitModule reused with skipIf, on %s', (platform) => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    ({ app, url } = await listen(
      platform,
      RateLimitedAppModule.create(sharedTopology(), testPrefix(__filename)),
    ));
  });
  afterAll(async () => {
    await app?.close();
  });

  it('skipped requests pass without headers and are not counted; the others get the limit of 2', async () => {
    const exempt = { headers: { 'x-test-exempt': 'yes' } };
    for (let i = 0; i < 3; i++) {
      const r = await http(`${url}/limited`, exempt);
      expect(r.status).toBe(200);
      expect(r.headers.get('ratelimit')).toBeNull();
    }
    const counted = [];
    for (let i = 0; i < 3; i++) counted.push(await http(`${url}/limited`));
    expect(counted.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(counted[0].headers.get('ratelimit-policy')).toBe('"default";q=2;w=60');
    // Still exempt once the client is over its limit.
    expect((await http(`${url}/limited`, exempt)).status).toBe(200);
  });
});
