import { INestApplication } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { CacheService } from '../../src/cache';
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

/**
 * Another team's Nest app that imports only RedisModule, CacheModule and LockModule from their
 * public faces, with explicit options (test/fixtures/minimal-app.ts): the decorators work there,
 * on both platforms, with the platforms' own defaults (none of this app's HTTP setup).
 */
describe.each(PLATFORMS)('a minimal app reusing our modules, on %s', (platform) => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [MinimalAppModule.create(sharedTopology(), testPrefix(__filename))],
    }).compile();
    app = moduleRef.createNestApplication(
      platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(),
      { logger: false },
    );
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
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
