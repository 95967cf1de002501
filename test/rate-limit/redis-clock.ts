import type { RedisClient } from '../../src/redis';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Redis `TIME` in ms: the rate-limit script's clock. */
export async function redisNowMs(redis: RedisClient): Promise<number> {
  const [sec, micro] = (await redis.time()) as [number | string, number | string];
  return Number(sec) * 1000 + Math.floor(Number(micro) / 1000);
}

/**
 * Waits until `afterMs` past the next multiple of `windowMs` on the Redis clock (the script's
 * windows are aligned to those multiples), so a test can start early in a window. Tests use it to
 * reach a state deterministically, never to assert how long something took.
 */
export async function untilWindowStart(
  redis: RedisClient,
  windowMs: number,
  afterMs = 20,
): Promise<void> {
  const now = await redisNowMs(redis);
  await sleep(windowMs - (now % windowMs) + afterMs);
}
