import { getRedisToken, RedisClient } from '../../src/redis/redis.constants';
import { createTestApp, http, PLATFORMS, TestApp, testPrefix } from '../support/app';
import { startRedisServer, TestRedis } from '../support/redis';

async function eventually<T>(
  fn: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await fn();
  while (!ok(last) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    last = await fn();
  }
  return last;
}

describe.each(PLATFORMS)('a stopped Redis on %s', (platform) => {
  let redis: TestRedis;
  let t: TestApp;

  beforeAll(async () => {
    redis = await startRedisServer();
    t = await createTestApp({
      platform,
      prefix: testPrefix(__filename),
      env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '500' },
    });
  });
  afterAll(async () => {
    await t?.close();
    await redis?.close();
  });

  it('turns readiness to 503 with JSON details, keeps serving what needs no Redis, and recovers without a restart', async () => {
    expect((await http(`${t.url}/health/ready`)).status).toBe(200);

    await redis.stop();
    const down = await eventually(
      () => http(`${t.url}/health/ready`),
      (r) => r.status === 503,
    );
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({
      status: 'error',
      error: { redis_state: { status: 'down' } },
      details: { database: { status: 'up' } },
    });
    expect((await http(`${t.url}/health/live`)).status).toBe(200);
    expect((await http(`${t.url}/api/users/1`)).status).toBe(200);

    await redis.restart();
    const up = await eventually(
      () => http(`${t.url}/health/ready`),
      (r) => r.status === 200,
    );
    expect(up.body.details).toMatchObject({
      redis_state: { status: 'up' },
      redis_cache: { status: 'up' },
    });
  });

  it('a command against a killed Redis fails within the command timeout instead of hanging', async () => {
    const state = t.app.get<RedisClient>(getRedisToken('state'));
    await redis.kill();
    await expect(state.get('anything')).rejects.toThrow();
    await redis.restart();
    await eventually(
      () => http(`${t.url}/health/ready`),
      (r) => r.status === 200,
    );
    expect(await state.ping()).toBe('PONG');
  });
});
