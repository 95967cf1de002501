import { Controller, Get, Module } from '@nestjs/common';
import { Throttle } from '@nestjs/throttler';
import { RateLimitLeases, RedisThrottlerStorage } from '../../src/rate-limit';
import { getRedisToken, RedisClient } from '../../src/redis';
import { createTestApp, http, TestApp, testPrefix } from '../support/app';
import { startRedisServer, TestRedis } from '../support/redis';
import { redisNowMs, sleep, untilWindowStart } from './redis-clock';

/**
 * The approximate mode (RATE_LIMIT_MODE=approximate): leases drawn from Redis and counted
 * locally. What it promises (README § Rate limiting): never more admissions per window than
 * exact mode, at most `lease − 1` unused admissions per instance and client per window, and a
 * block set elsewhere honoured here once the local lease runs out (at most `lease − 1` more).
 */

// Limit 1000 → lease 10 (1 % of the limit, RATE_LIMIT_MAX_LEASE 100). An hour-long window, so
// a slow machine does not spread a burst over two windows; should a test still cross a window
// boundary (Redis clock read before and after), it runs again as another client.
const LIMIT = 1000;
const LEASE = 10;
const WINDOW_MS = 3_600_000;
/** The client a request counts for: the x-test-client header (a fresh one per attempt). */
const getTracker = (req: Record<string, unknown>): string =>
  String((req.headers as Record<string, string>)['x-test-client']);

@Controller('test-rl-approx')
class ApproxController {
  @Get('budget')
  @Throttle({ default: { limit: LIMIT, ttl: WINDOW_MS, getTracker } })
  budget(): { ok: true } {
    return { ok: true };
  }

  @Get('block')
  @Throttle({ default: { limit: LIMIT, ttl: WINDOW_MS, blockDuration: WINDOW_MS, getTracker } })
  block(): { ok: true } {
    return { ok: true };
  }
}

@Module({ controllers: [ApproxController] })
class ApproxModule {}

const env = { RATE_LIMIT: '1000000/60s', RATE_LIMIT_MODE: 'approximate' };

async function burst(urls: string[], n: number, client: string): Promise<number[]> {
  const headers = { 'x-test-client': client };
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      http(urls[i % urls.length], { headers }).then((r) => r.status),
    ),
  );
}

/** Runs `attempt` (with a fresh client id) until one run starts and ends in the same window. */
async function inOneWindow(
  redis: RedisClient,
  attempt: (client: string) => Promise<() => void>,
): Promise<void> {
  for (let i = 0; ; i++) {
    const start = Math.floor((await redisNowMs(redis)) / WINDOW_MS);
    const check = await attempt(`client-${Date.now()}-${i}`);
    if (Math.floor((await redisNowMs(redis)) / WINDOW_MS) === start || i === 2) return check();
  }
}

const count = (xs: number[], status: number) => xs.filter((s) => s === status).length;

describe('approximate rate limiting across three instances', () => {
  const apps: TestApp[] = [];
  let redis: RedisClient;

  beforeAll(async () => {
    const prefix = testPrefix(__filename);
    for (const platform of ['fastify', 'express', 'fastify'] as const)
      apps.push(await createTestApp({ prefix, env, platform, extraModules: [ApproxModule] }));
    redis = apps[0].app.get<RedisClient>(getRedisToken('state'));
  });
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
  });

  it('never admits more than the limit in a window, and leaves at most (lease − 1) unused per instance', async () => {
    const urls = apps.map((a) => `${a.url}/test-rl-approx/budget`);
    await inOneWindow(redis, async (client) => {
      const first = await burst(urls, 1500, client);
      const second = await burst(urls, 300, client); // the leftovers are used or refused
      return () => {
        const admitted = count(first, 200) + count(second, 200);
        expect(count(first, 200) + count(first, 429)).toBe(1500);
        expect(admitted).toBeLessThanOrEqual(LIMIT);
        expect(admitted).toBeGreaterThanOrEqual(LIMIT - apps.length * (LEASE - 1));
      };
    });
  });

  it('a block set by one instance stops another one after at most (lease − 1) more admissions', async () => {
    const [a, b] = apps.map((x) => `${x.url}/test-rl-approx/block`);
    await inOneWindow(redis, async (client) => {
      const first = await burst([b], 1, client); // b draws a lease: LEASE − 1 left on b
      const onA = await burst([a], 1200, client); // a uses the rest, then is refused: block
      const onB = await burst([b], 50, client);
      const refused = await http(a, { headers: { 'x-test-client': client } });
      return () => {
        expect(first).toEqual([200]);
        expect(count(onA, 200)).toBe(LIMIT - LEASE);
        expect(count(onA, 429)).toBe(1200 - (LIMIT - LEASE));
        expect(count(onB, 200)).toBe(LEASE - 1); // b's lease, counted in Redis before the block
        expect(count(onB, 429)).toBe(50 - (LEASE - 1));
        expect(refused.status).toBe(429);
        expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      };
    });
  });
});

describe('approximate rate limiting: leases against a real Redis', () => {
  let t: TestApp;
  let storage: RedisThrottlerStorage;
  let redis: RedisClient;

  beforeAll(async () => {
    t = await createTestApp({ prefix: testPrefix(__filename), env });
    storage = t.app.get(RedisThrottlerStorage);
    redis = t.app.get<RedisClient>(getRedisToken('state'));
  });
  afterAll(async () => {
    await t?.close();
  });

  /** The storage's reserve for one key, counting how often Redis is asked. */
  function reserver(key: string, windowMs: number, limit: number, blockMs = 0) {
    const calls = { n: 0 };
    const fn = (n: number) => {
      calls.n += 1;
      return storage.reserve(key, windowMs, limit, n, blockMs);
    };
    return { calls, fn };
  }

  it('concurrent requests of one key share one reservation, which Redis counts in full', async () => {
    const leases = new RateLimitLeases();
    const key = `approx-sf-${Date.now()}`;
    const r = reserver(key, 60_000, 10_000);
    const results = await Promise.all(
      Array.from({ length: 50 }, () => leases.take(key, 100, r.fn)),
    );
    expect(results.every((d) => d.allowed)).toBe(true);
    expect(r.calls.n).toBe(1);
    expect(results.filter((d) => d.fromRedis)).toHaveLength(1);
    expect(Number(await redis.hget(storage.key(key), 'cur'))).toBe(100);
    // 50 of 100 used: the next 50 are local, the 101st asks Redis again.
    for (let i = 0; i < 50; i++) expect((await leases.take(key, 100, r.fn)).fromRedis).toBe(false);
    expect(r.calls.n).toBe(1);
    expect((await leases.take(key, 100, r.fn)).fromRedis).toBe(true);
    expect(Number(await redis.hget(storage.key(key), 'cur'))).toBe(200);
  });

  it('a lease ends with the Redis window it was counted in', async () => {
    const leases = new RateLimitLeases();
    const key = `approx-win-${Date.now()}`;
    const r = reserver(key, 3000, 10_000);
    await untilWindowStart(redis, 3000, 20);
    expect((await leases.take(key, 100, r.fn)).fromRedis).toBe(true);
    expect((await leases.take(key, 100, r.fn)).fromRedis).toBe(false);
    await untilWindowStart(redis, 3000, 20); // 98 admissions unused: void now
    expect((await leases.take(key, 100, r.fn)).fromRedis).toBe(true);
    expect(r.calls.n).toBe(2);
  });

  it('grants only what fits, and repeats a refusal locally until its Retry-After', async () => {
    const leases = new RateLimitLeases();
    const key = `approx-ref-${Date.now()}`;
    const r = reserver(key, 60_000, 5);
    const first = await leases.take(key, 100, r.fn); // 5 fit: 1 used, 4 leased
    expect(first.allowed).toBe(true);
    expect(Number(await redis.hget(storage.key(key), 'cur'))).toBe(5);
    for (let i = 0; i < 4; i++) expect((await leases.take(key, 100, r.fn)).allowed).toBe(true);
    const refused = await leases.take(key, 100, r.fn);
    expect(refused).toMatchObject({ allowed: false, fromRedis: true });
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    const again = await leases.take(key, 100, r.fn);
    expect(again).toMatchObject({ allowed: false, fromRedis: false });
    expect(r.calls.n).toBe(2);
  });

  it('keeps at most maxEntries leases (dropping one only loses admissions)', async () => {
    const leases = new RateLimitLeases(20);
    for (let i = 0; i < 100; i++) {
      const key = `approx-cap-${Date.now()}-${i}`;
      expect((await leases.take(key, 5, reserver(key, 60_000, 100).fn)).allowed).toBe(true);
    }
    expect(leases.size).toBeLessThanOrEqual(20);
  });
});

describe('approximate rate limiting with Redis stopped', () => {
  let server: TestRedis;
  let t: TestApp;

  beforeAll(async () => {
    server = await startRedisServer();
    t = await createTestApp({
      prefix: testPrefix(__filename),
      env: { ...env, REDIS_URL: server.url, RATE_LIMIT: '5/60s', REDIS_COMMAND_TIMEOUT_MS: '500' },
    });
  });
  afterAll(async () => {
    await t?.close();
    await server?.close();
  });

  it('fails open for every waiting request at once, and limits again when Redis returns', async () => {
    const storage = t.app.get(RedisThrottlerStorage);
    await server.stop();
    const leases = new RateLimitLeases();
    let calls = 0;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        leases.take('approx-down', 10, (n) => {
          calls += 1;
          return storage.reserve('approx-down', 60_000, 100, n);
        }),
      ),
    );
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    expect(calls).toBe(1); // the 19 waiters failed with the one reservation, not one timeout each
    const results = await Promise.all(
      Array.from({ length: 10 }, () => http(`${t.url}/api/pages/1`)),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect((await http(`${t.url}/metrics`)).text).toMatch(
      /rate_limit_total\{result="error"\} [1-9]/,
    );
    await server.restart();
    let limited = false;
    for (let i = 0; i < 200 && !limited; i++) {
      limited = (await http(`${t.url}/api/pages/1`)).status === 429;
      if (!limited) await sleep(20);
    }
    expect(limited).toBe(true);
  });
});
