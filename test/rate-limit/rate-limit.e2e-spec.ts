import { Controller, Get, Module } from '@nestjs/common';
import { Throttle } from '@nestjs/throttler';
import { RedisThrottlerStorage } from '../../src/rate-limit';
import { getRedisToken, RedisClient } from '../../src/redis';
import { createTestApp, http, TestApp, testPrefix } from '../support/app';
import { describeOnPlatforms, PlatformAppOptions } from '../support/platforms';
import { startRedisServer, TestRedis } from '../support/redis';
import { untilWindowStart } from './redis-clock';

@Controller('test-rl')
class TightController {
  @Get('tight')
  @Throttle({ default: { limit: 2, ttl: 60_000 } })
  tight(): { ok: true } {
    return { ok: true };
  }

  @Get('window')
  @Throttle({ default: { limit: 2, ttl: 2000 } })
  window(): { ok: true } {
    return { ok: true };
  }

  @Get('short-block')
  @Throttle({ default: { limit: 2, ttl: 2000, blockDuration: 1000 } })
  shortBlock(): { ok: true } {
    return { ok: true };
  }

  @Get('ttl-block')
  @Throttle({ default: { limit: 2, ttl: 2000, blockDuration: 2000 } })
  ttlBlock(): { ok: true } {
    return { ok: true };
  }

  @Get('long-block')
  @Throttle({ default: { limit: 1, ttl: 1000, blockDuration: 3000 } })
  longBlock(): { ok: true } {
    return { ok: true };
  }

  /** A limit from an async function and a window from a plain one (both resolved per request). */
  @Get('resolved')
  @Throttle({ default: { limit: async () => Promise.resolve(2), ttl: () => 60_000 } })
  resolved(): { ok: true } {
    return { ok: true };
  }

  @Get('no-block')
  @Throttle({ default: { limit: 2, ttl: 2000 } })
  noBlock(): { ok: true } {
    return { ok: true };
  }
}

@Module({ controllers: [TightController] })
class TightModule {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const appOptions: PlatformAppOptions = {
  env: { RATE_LIMIT: '50/60s' },
  extraModules: [TightModule],
};

describeOnPlatforms('rate limiting', appOptions, (t) => {
  it('RATE_LIMIT=50/60s: of 200 concurrent requests from one client exactly 50 pass, 150 get 429 with headers', async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, () => http(`${t.url}/api/pages/1`)),
    );
    const ok = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    expect(ok).toHaveLength(50);
    expect(limited).toHaveLength(150);
    for (const r of ok) {
      expect(r.headers.get('ratelimit-policy')).toBe('"default";q=50;w=60');
      expect(r.headers.get('ratelimit')).toMatch(/^"default";r=\d+;t=\d+$/);
    }
    const remaining = ok
      .map((r) => Number(/r=(\d+)/.exec(r.headers.get('ratelimit')!)![1]))
      .sort((a, b) => a - b);
    expect(remaining).toEqual(Array.from({ length: 50 }, (_, i) => i));
    for (const r of limited) {
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(r.headers.get('ratelimit')).toMatch(/^"default";r=0;t=\d+$/);
      expect(r.body).toMatchObject({
        statusCode: 429,
        error: 'Too Many Requests',
        message: expect.stringMatching(/50 requests per 60 s/),
      });
    }
  });

  it('never limits health and metrics (@SkipThrottle)', async () => {
    const results = await Promise.all(
      Array.from({ length: 80 }, () => http(`${t.url}/health/live`)),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect((await http(`${t.url}/metrics`)).status).toBe(200);
  });

  it('honours @Throttle overrides per route', async () => {
    expect((await http(`${t.url}/test-rl/tight`)).status).toBe(200);
    expect((await http(`${t.url}/test-rl/tight`)).status).toBe(200);
    const third = await http(`${t.url}/test-rl/tight`);
    expect(third.status).toBe(429);
    expect(third.headers.get('ratelimit-policy')).toBe('"default";q=2;w=60');
  });

  it('honours limits and windows given as functions, sync and async', async () => {
    expect((await http(`${t.url}/test-rl/resolved`)).status).toBe(200);
    expect((await http(`${t.url}/test-rl/resolved`)).status).toBe(200);
    const third = await http(`${t.url}/test-rl/resolved`);
    expect(third.status).toBe(429);
    expect(third.headers.get('ratelimit-policy')).toBe('"default";q=2;w=60');
  });

  it('lets a client that waits exactly Retry-After seconds through, with or without a block', async () => {
    // Starting early in a window puts the end of a block of 1 s or 2 s (= ttl, the case)
    // before the window has room: the state in which the client used to be refused (and blocked
    // again) after obeying Retry-After. The assertions hold wherever the test starts.
    await untilWindowStart(t.app.get<RedisClient>(getRedisToken('state')), 2000);
    const routes = ['window', 'short-block', 'ttl-block'];
    const outcomes = await Promise.all(
      routes.map(async (route) => {
        const url = `${t.url}/test-rl/${route}`;
        const responses = [];
        for (let i = 0; i < 4; i++) responses.push(await http(url));
        const statuses = responses.map((r) => r.status);
        expect({ route, statuses }).toEqual({ route, statuses: [200, 200, 429, 429] });
        const last = responses[3];
        const retryAfter = Number(last.headers.get('retry-after'));
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(last.headers.get('ratelimit')).toBe(`"default";r=0;t=${retryAfter}`);
        await sleep(retryAfter * 1000);
        return { route, statusAfterRetryAfter: (await http(url)).status };
      }),
    );
    expect(outcomes).toEqual(routes.map((route) => ({ route, statusAfterRetryAfter: 200 })));
  });

  it('honours a blockDuration longer than the window: Retry-After covers the whole block', async () => {
    const url = `${t.url}/test-rl/long-block`;
    expect((await http(url)).status).toBe(200);
    const refused = await http(url);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('3');
    expect(refused.headers.get('ratelimit')).toBe('"default";r=0;t=3');
    expect(refused.body).toMatchObject({ retryAfter: 3 });
  });

  it('does not block by default: a refused client waits only until the sliding window has room', async () => {
    // Two requests early in a window, a third early in the next one: the window has room again
    // within 1 s, where a block of one ttl (@nestjs/throttler's default) would say 2 s.
    const url = `${t.url}/test-rl/no-block`;
    await untilWindowStart(t.app.get<RedisClient>(getRedisToken('state')), 2000);
    expect((await http(url)).status).toBe(200);
    expect((await http(url)).status).toBe(200);
    await sleep(2200);
    const refused = await http(url);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
  });

  it('counts decisions in rate_limit_total', async () => {
    const text = (await http(`${t.url}/metrics`)).text;
    expect(text).toMatch(/rate_limit_total\{result="allowed"\} [1-9]/);
    expect(text).toMatch(/rate_limit_total\{result="limited"\} [1-9]/);
  });
});

describe('rate limiting across instances and clients', () => {
  it('two instances share one budget', async () => {
    const prefix = testPrefix(__filename);
    const env = { RATE_LIMIT: '50/60s' };
    const a = await createTestApp({ prefix, env, platform: 'fastify' });
    const b = await createTestApp({ prefix, env, platform: 'express' });
    try {
      const results = await Promise.all(
        Array.from({ length: 120 }, (_, i) => http(`${(i % 2 ? a : b).url}/api/pages/2`)),
      );
      expect(results.filter((r) => r.status === 200)).toHaveLength(50);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('ignores X-Forwarded-For unless TRUST_PROXY is on (a client cannot reset its budget by spoofing it)', async () => {
    const untrusted = await createTestApp({
      prefix: testPrefix(__filename),
      env: { RATE_LIMIT: '5/60s' },
    });
    const trusted = await createTestApp({
      prefix: testPrefix(__filename),
      env: { RATE_LIMIT: '5/60s', TRUST_PROXY: 'true' },
    });
    try {
      const spoof = (url: string, i: number) =>
        http(`${url}/api/pages/1`, { headers: { 'x-forwarded-for': `203.0.113.${i}` } });
      const u = await Promise.all(Array.from({ length: 20 }, (_, i) => spoof(untrusted.url, i)));
      expect(u.filter((r) => r.status === 200)).toHaveLength(5);
      const tr = await Promise.all(Array.from({ length: 20 }, (_, i) => spoof(trusted.url, i)));
      expect(tr.filter((r) => r.status === 200)).toHaveLength(20); // 20 distinct clients behind the proxy
    } finally {
      await untrusted.close();
      await trusted.close();
    }
  });

  it('writes the whole state and its TTL once per window; a later admission is one HINCRBY', async () => {
    const t = await createTestApp({ prefix: testPrefix(__filename) });
    try {
      const storage = t.app.get(RedisThrottlerStorage);
      const redis = t.app.get<RedisClient>(getRedisToken('state'));
      const key = `hincr-${Date.now()}`;
      // An hour-long window: the two checks 300 ms apart share it (unless run at hh:59:59.7).
      expect((await storage.check(key, 3_600_000, 100)).allowed).toBe(true);
      const ttl1 = await redis.pttl(storage.key(key));
      expect(ttl1).toBeGreaterThan(3_600_000); // two windows
      await sleep(300);
      expect((await storage.check(key, 3_600_000, 100)).allowed).toBe(true);
      expect(await redis.hget(storage.key(key), 'cur')).toBe('2');
      expect(await redis.pttl(storage.key(key))).toBeLessThan(ttl1 - 200); // not re-armed
    } finally {
      await t.close();
    }
  });

  it('uses a sliding window: no second burst right after a window boundary (fixed windows allow 2×)', async () => {
    const t = await createTestApp({ prefix: testPrefix(__filename), env: { RATE_LIMIT: '10/2s' } });
    try {
      const redis = t.app.get<RedisClient>(getRedisToken('state'));
      const first = await Promise.all(
        Array.from({ length: 10 }, () => http(`${t.url}/api/pages/1`)),
      );
      expect(first.filter((r) => r.status === 200)).toHaveLength(10);
      const [sec, micro] = (await redis.time()) as [number | string, number | string];
      const nowMs = Number(sec) * 1000 + Math.floor(Number(micro) / 1000);
      await sleep(2000 - (nowMs % 2000) + 30); // just past the boundary
      const second = await Promise.all(
        Array.from({ length: 10 }, () => http(`${t.url}/api/pages/1`)),
      );
      expect(second.filter((r) => r.status === 200).length).toBeLessThanOrEqual(1);
    } finally {
      await t.close();
    }
  });
});

describe('rate limiting with Redis stopped', () => {
  let redis: TestRedis;
  let t: TestApp;

  beforeAll(async () => {
    redis = await startRedisServer();
    t = await createTestApp({
      prefix: testPrefix(__filename),
      env: { REDIS_URL: redis.url, RATE_LIMIT: '5/60s', REDIS_COMMAND_TIMEOUT_MS: '500' },
    });
  });
  afterAll(async () => {
    await t?.close();
    await redis?.close();
  });

  it('fails open: requests pass, counted as errors; limiting resumes when Redis returns', async () => {
    await redis.stop();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => http(`${t.url}/api/pages/1`)),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect((await http(`${t.url}/metrics`)).text).toMatch(
      /rate_limit_total\{result="error"\} [1-9]/,
    );
    await redis.restart();
    let limited = false;
    for (let i = 0; i < 200 && !limited; i++) {
      limited = (await http(`${t.url}/api/pages/1`)).status === 429;
      if (!limited) await sleep(20);
    }
    expect(limited).toBe(true);
  });
});
