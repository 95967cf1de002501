import { Redis } from 'ioredis';
import { RedisKeys } from '../redis';
import { ListQueue, listQueueKeys } from './list-queue';
import { ListQueueInputError } from './list-queue.errors';

describe('ListQueue (no Redis)', () => {
  // lazyConnect: never connects; the constructor only registers the scripts on it.
  const client = new Redis({ lazyConnect: true });
  const queue = new ListQueue(client, {
    keys: new RedisKeys('nrp'),
    backoffMs: 1000,
    maxBackoffMs: 10_000,
  });

  it('backs off exponentially with equal jitter: each delay in [c/2, c], never below the previous', () => {
    const low = () => 0;
    const high = () => 0.999999;
    expect([1, 2, 3, 4].map((a) => queue.backoffDelay(a, low))).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map((a) => queue.backoffDelay(a, high))).toEqual([1000, 2000, 4000, 8000]);
    for (let a = 1; a < 4; a++)
      expect(queue.backoffDelay(a + 1, low)).toBeGreaterThanOrEqual(queue.backoffDelay(a, high));
    // At the cap, delays stay within [cap/2, cap].
    expect(queue.backoffDelay(20, high)).toBe(10_000);
    expect(queue.backoffDelay(20, low)).toBe(5000);
  });

  it('builds every key of a queue under one hash tag', () => {
    const keys = listQueueKeys(new RedisKeys('nrp'), 'mail');
    expect(keys.ready).toBe('nrp:lq:{mail}:ready');
    expect(Object.values(keys).every((k) => k.startsWith('nrp:lq:{mail}:'))).toBe(true);
  });

  it('refuses options out of range and unknown job types', async () => {
    expect(() => new ListQueue(client, { keys: new RedisKeys('nrp'), maxRetries: -1 })).toThrow(
      ListQueueInputError,
    );
    await expect(queue.enqueue('sms' as never, {})).rejects.toBeInstanceOf(ListQueueInputError);
  });
});
