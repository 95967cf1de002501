import type { HttpPlatform } from '../../src/config';
import { createTestApp, TestApp, testPrefix } from './app';
import { startRedisServer, TestRedis } from './redis';

/**
 * For suites that stop or kill Redis: registers beforeAll/afterAll that start a private
 * redis-server and an app on it (short command timeout), and returns accessors.
 */
export function usePrivateRedisApp(
  file: string,
  platform: HttpPlatform,
): { redis: () => TestRedis; app: () => TestApp } {
  let redis: TestRedis;
  let t: TestApp;
  beforeAll(async () => {
    redis = await startRedisServer();
    t = await createTestApp({
      platform,
      prefix: testPrefix(file),
      env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '500' },
    });
  });
  afterAll(async () => {
    await t?.close();
    await redis?.close();
  });
  return { redis: () => redis, app: () => t };
}
