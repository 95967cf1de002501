import type { Redis } from 'ioredis';
import { getRedisToken } from '../../src/redis';
import { createTestApp, eventually, http, TestApp, testPrefix } from '../support/app';
import { PLATFORMS } from '../support/app';
import { LogCapture } from '../support/log-capture';
import { startRedisServer, TestRedis } from '../support/redis';

/** Sum of the samples of one metric whose labels include all of `labels`. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const have = line.slice(name.length + 1, line.lastIndexOf('}')).split(',');
    if (want.every((w) => have.includes(w))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

// nestjs-pino keeps one root logger per process: both apps of this file write to the first
// stream, and requests are told apart by id.
const logs = new LogCapture();

/**
 * The `cache` role on a private redis-server of its own (REDIS_CACHE_URL), the `state` role on
 * the run's shared Redis (a Cluster in the Cluster run), so `role="cache"` is told from
 * `role="state"` by server as well as by client.
 */
describe.each(PLATFORMS)('Redis command metrics on %s', (platform) => {
  let cacheRedis: TestRedis;
  let t: TestApp;
  const scrape = async () => (await http(`${t.url}/metrics`)).text;

  beforeAll(async () => {
    cacheRedis = await startRedisServer();
    t = await createTestApp({
      platform,
      prefix: testPrefix(__filename),
      env: {
        REDIS_CACHE_URL: cacheRedis.url,
        REDIS_COMMAND_TIMEOUT_MS: '500',
        // Per-request Redis cost is opt-in (README › Redis command metrics overhead).
        REDIS_REQUEST_COST: 'true',
        LOG_LEVEL: 'info',
      },
      logStream: logs,
    });
  }, 180_000);
  afterAll(async () => {
    await t?.close();
    await cacheRedis?.close();
  });

  it('counts N cached GETs as N plain GETs on the cache role (one command per hit)', async () => {
    expect((await http(`${t.url}/api/users/1`)).status).toBe(200); // cached from here on
    const cacheRead = { role: 'cache', command: 'get' };
    const count = 'redis_command_duration_seconds_count';
    const before = await scrape();
    const n = 25;
    for (let i = 0; i < n; i++) {
      const res = await http(`${t.url}/api/users/1`);
      expect(res.headers.get('x-cache')).toMatch(/^HIT/);
    }
    const after = await scrape();
    expect(sample(after, count, cacheRead) - sample(before, count, cacheRead)).toBe(n);
    // The rate limiter's script on the state role (a Cluster node in the Cluster run).
    const limiter = { role: 'state', command: 'evalsha', script: 'slidingWindow' };
    expect(sample(after, count, limiter) - sample(before, count, limiter)).toBeGreaterThanOrEqual(
      n,
    );
    // Command names only: never a key or an argument.
    const series = after.split('\n').filter((l) => l.startsWith('redis_command_duration_seconds'));
    expect(series.length).toBeGreaterThan(0);
    expect(series.join('\n')).not.toMatch(/user:|t-redis-command-metrics/);
    // The duration is a real histogram: +Inf equals the count.
    expect(
      sample(after, 'redis_command_duration_seconds_bucket', { ...cacheRead, le: '+Inf' }),
    ).toBe(sample(after, count, cacheRead));
  });

  it('puts the request’s Redis commands and their time on its "request completed" line; concurrent requests lose none', async () => {
    const id = (i: number) => `rcm-${platform}-${i}-${Date.now()}`;
    const alone = id(0);
    await http(`${t.url}/api/users/2`); // warm the cache entry
    expect(
      (await http(`${t.url}/api/users/2`, { headers: { 'x-request-id': alone } })).status,
    ).toBe(200);
    const line = await eventually(
      async () => logs.completed(alone),
      (l) => l !== undefined,
    );
    const cost = line?.redis as { commands: number; ms: number } | undefined;
    expect(cost?.commands).toBeGreaterThanOrEqual(2); // rate limit (state) + cache read (cache)
    expect(cost?.ms).toBeGreaterThan(0);

    // Concurrent requests share auto-pipelined writes. ioredis writes a batch on a setImmediate
    // scheduled by the command that opened it (so the batch is counted in that request), or,
    // when the previous batch of that connection is still in flight, from that batch's reply
    // (counted in no request). Under concurrency the split per request is therefore off: some
    // lines show more, some fewer, none are counted twice (README › Redis command metrics).
    const ids = Array.from({ length: 40 }, (_, i) => id(i + 1));
    await Promise.all(
      ids.map((rid) => http(`${t.url}/api/users/2`, { headers: { 'x-request-id': rid } })),
    );
    const lines = await eventually(
      async () => ids.map((rid) => logs.completed(rid)),
      (ls) => ls.every((l) => l !== undefined),
    );
    const counts = lines.map((l) => (l?.redis as { commands: number }).commands);
    for (const c of counts) expect(typeof c).toBe('number');
    expect(counts.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(
      ids.length * (cost?.commands ?? 0),
    );
  });

  it('counts errors while the cache Redis is frozen (timeouts) and while it is killed (refused commands)', async () => {
    const errors = (text: string) => sample(text, 'redis_command_errors_total', { role: 'cache' });
    const before = errors(await scrape());
    cacheRedis.freeze();
    try {
      // The cache fails open: the GETs answer from the loader, the reads time out (500 ms).
      for (let i = 0; i < 3; i++) expect((await http(`${t.url}/api/users/1`)).status).toBe(200);
    } finally {
      cacheRedis.thaw();
    }
    const frozen = errors(await scrape());
    expect(frozen).toBeGreaterThan(before);

    await cacheRedis.kill();
    const cache = t.app.get<Redis>(getRedisToken('cache'));
    await eventually(
      async () => cache.status,
      (s) => s !== 'ready',
    );
    await expect(cache.get('anything')).rejects.toThrow();
    const killed = await scrape();
    expect(errors(killed)).toBeGreaterThan(frozen);
    expect(
      sample(killed, 'redis_command_errors_total', { role: 'cache', command: 'get' }),
    ).toBeGreaterThanOrEqual(1);
    // The state role is untouched.
    expect((await http(`${t.url}/health/live`)).status).toBe(200);
  });
});
