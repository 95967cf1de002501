import { getRedisToken, RedisClient } from '../../src/redis';
import { eventually, http, PLATFORMS, TestApp } from '../support/app';
import { usePrivateRedisApp } from '../support/private-redis';

describe.each(PLATFORMS)('a stopped Redis on %s', (platform) => {
  const fixture = usePrivateRedisApp(__filename, platform);
  let t: TestApp;
  beforeAll(() => {
    t = fixture.app();
  });

  it('turns readiness to 503 with JSON details, keeps serving what needs no Redis, and recovers without a restart', async () => {
    expect((await http(`${t.url}/health/ready`)).status).toBe(200);

    await fixture.redis().stop();
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

    await fixture.redis().restart();
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
    await fixture.redis().kill();
    await expect(state.get('anything')).rejects.toThrow();
    await fixture.redis().restart();
    await eventually(
      () => http(`${t.url}/health/ready`),
      (r) => r.status === 200,
    );
    expect(await state.ping()).toBe('PONG');
  });
});
