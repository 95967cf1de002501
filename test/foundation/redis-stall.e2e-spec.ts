import { createTestApp, eventually, http, PLATFORMS, TestApp, testPrefix } from '../support/app';
import { startRedisServer, TestRedis } from '../support/redis';

/**
 * A Redis that stops answering while its connections stay open (SIGSTOP: a frozen or
 * swapped-out process, a network black hole). Commands time out after REDIS_COMMAND_TIMEOUT_MS;
 * a request runs two or three Redis commands in sequence, so without a breaker each of them
 * would wait its own timeout. These bounds are the defect's own terms ("one timeout", "1 s"),
 * with the old behaviour at least twice as slow by construction.
 */
const COMMAND_TIMEOUT_MS = 2000;

/** Resolves with the elapsed time, or with Infinity when `ms` passes first. */
async function within<T>(ms: number, work: Promise<T>): Promise<{ value?: T; elapsed: number }> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), ms)));
  const winner = await Promise.race([work, late]);
  clearTimeout(timer);
  if (winner === 'late') {
    await work.catch(() => undefined); // let it finish before the next step
    return { elapsed: Infinity };
  }
  return { value: winner, elapsed: Date.now() - started };
}

describe.each(PLATFORMS)('a frozen Redis (SIGSTOP) on %s', (platform) => {
  let redis: TestRedis;
  let t: TestApp;

  beforeAll(async () => {
    redis = await startRedisServer();
    t = await createTestApp({
      platform,
      prefix: testPrefix(__filename),
      env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS) },
    });
  });
  afterAll(async () => {
    redis?.thaw();
    await t?.close();
    await redis?.close();
  });

  afterEach(async () => {
    redis.thaw();
    await eventually(
      () => http(`${t.url}/health/ready`),
      (r) => r.status === 200,
    );
  });

  it('a request waits at most one command timeout in all, however many Redis commands it runs', async () => {
    expect((await http(`${t.url}/api/users/2`)).status).toBe(200); // cached: later reads need Redis
    redis.freeze();
    // Rate limit (state) → cache read → load → cache store: three commands in sequence.
    const first = await within(2 * COMMAND_TIMEOUT_MS, http(`${t.url}/api/users/2`));
    expect(first.elapsed).toBeLessThan(2 * COMMAND_TIMEOUT_MS);
    expect(first.value?.status).toBe(200); // fail open: served from the database
    // Now the stall is known: later requests do not wait for Redis at all.
    const later = await within(COMMAND_TIMEOUT_MS, http(`${t.url}/api/users/3`));
    expect(later.elapsed).toBeLessThan(COMMAND_TIMEOUT_MS);
    expect(later.value?.status).toBe(200);
  });

  it('a locked write answers 503 saying Redis is not answering, within one timeout', async () => {
    redis.freeze();
    const res = await within(
      2 * COMMAND_TIMEOUT_MS,
      http(`${t.url}/api/users/1`, { method: 'PATCH', body: { name: 'Frozen' } }),
    );
    expect(res.elapsed).toBeLessThan(2 * COMMAND_TIMEOUT_MS);
    expect(res.value?.status).toBe(503);
    const again = await within(
      COMMAND_TIMEOUT_MS,
      http(`${t.url}/api/users/1`, { method: 'PATCH', body: { name: 'Frozen' } }),
    );
    expect(again.value?.status).toBe(503);
    expect(again.value?.body.message).toMatch(/not answering/);
  });

  it('/health/ready answers 503 within a second while Redis is frozen, and 200 once it answers again', async () => {
    redis.freeze();
    for (let i = 0; i < 3; i++) {
      const res = await within(1000, http(`${t.url}/health/ready`));
      expect(res.elapsed).toBeLessThan(1000);
      expect(res.value?.status).toBe(503);
      expect(res.value?.body.error.redis_state.status).toBe('down');
      expect(res.value?.body.details.database.status).toBe('up');
    }
    redis.thaw();
    const up = await eventually(
      () => http(`${t.url}/health/ready`),
      (r) => r.status === 200,
    );
    expect(up.status).toBe(200);
  });

  it('recovers by itself when Redis answers again: cache hits resume', async () => {
    redis.freeze();
    await http(`${t.url}/api/users/3`);
    redis.thaw();
    const hit = await eventually(
      () => http(`${t.url}/api/users/3`),
      (r) => r.headers.get('x-cache') === 'HIT',
    );
    expect(hit.headers.get('x-cache')).toBe('HIT');
  });
});
