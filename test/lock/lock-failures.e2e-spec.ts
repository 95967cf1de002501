import { LockUnavailableError, LockHandle, LockService } from '../../src/lock';
import { getRedisToken, RedisClient, scanKeys } from '../../src/redis';
import { createTestApp, eventually, http, TestApp, testPrefix } from '../support/app';
import { startRedisServer, TestRedis } from '../support/redis';

/**
 * Locks when Redis loses data or stops answering, and what anonymous clients can leave behind:
 * fencing tokens keep increasing across data loss, an abandoned acquisition does not hold the
 * lock, and invalid input never creates a key.
 */
const patch = (t: TestApp, id: number | string, name: string) =>
  http(`${t.url}/api/users/${id}`, { method: 'PATCH', body: { name } });

describe('fencing tokens when Redis loses its data', () => {
  let redis: TestRedis;
  let t: TestApp;

  beforeAll(async () => {
    redis = await startRedisServer(); // no persistence: a restart loses everything
    t = await createTestApp({
      prefix: testPrefix(__filename),
      env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '1000' },
    });
  });
  afterAll(async () => {
    await t?.close();
    await redis?.close();
  });

  it('the first PATCH after the fence key is deleted succeeds', async () => {
    for (let i = 0; i < 5; i++) expect((await patch(t, 2, `Alan ${i}`)).status).toBe(200);
    const state = t.app.get<RedisClient>(getRedisToken('state'));
    expect(await state.del(t.app.get(LockService).fenceKey('user:2'))).toBe(1);
    const after = await patch(t, 2, 'Alan after the loss');
    expect(after.status).toBe(200);
    expect(after.body.name).toBe('Alan after the loss');
  });

  it('the first PATCH after FLUSHALL succeeds', async () => {
    for (let i = 0; i < 3; i++) expect((await patch(t, 3, `Grace ${i}`)).status).toBe(200);
    await t.app.get<RedisClient>(getRedisToken('state')).flushall();
    expect((await patch(t, 3, 'Grace after FLUSHALL')).status).toBe(200);
  });

  it('after a restart without persistence under load, no PATCH is refused as "Lock lost"', async () => {
    const statuses: { status: number; error?: string }[] = [];
    let running = true;
    const worker = async (w: number) => {
      for (let i = 0; running; i++) {
        const res = await patch(t, 1, `Ada ${w}.${i}`);
        statuses.push({ status: res.status, error: res.body?.error });
      }
    };
    const workers = [0, 1, 2, 3].map(worker);
    await eventually(
      async () => statuses.filter((s) => s.status === 200).length,
      (n) => n >= 20,
    );
    await redis.restart(); // the fence counter is gone; the database keeps lock_fence
    const restartedAt = statuses.length;
    await eventually(
      async () => statuses.slice(restartedAt).filter((s) => s.status === 200).length,
      (n) => n >= 20,
    );
    running = false;
    await Promise.all(workers);
    const after = statuses.slice(restartedAt);
    // While Redis was away: 503 "cannot lock" (fail closed) and 409 contention only.
    expect(after.filter((s) => s.error === 'Lock lost')).toEqual([]);
    expect(after.filter((s) => ![200, 409, 503].includes(s.status))).toEqual([]);
    expect(after.filter((s) => s.status === 200).length).toBeGreaterThanOrEqual(20);
  });
});

describe('a lock acquisition abandoned while Redis was frozen', () => {
  let redis: TestRedis;
  let t: TestApp;

  beforeAll(async () => {
    redis = await startRedisServer();
    t = await createTestApp({
      prefix: testPrefix(__filename),
      env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '1000' },
    });
  });
  afterAll(async () => {
    redis?.thaw();
    await t?.close();
    await redis?.close();
  });

  it('LockService: an acquisition that timed out leaves the resource free once Redis answers again', async () => {
    const locks = t.app.get(LockService);
    redis.freeze();
    await expect(locks.acquire('report:abandoned', { ttl: 10_000 })).rejects.toBeInstanceOf(
      LockUnavailableError,
    );
    redis.thaw();
    // Without the compensation the late SET NX holds the lock, ownerless, for its 10 s lease.
    const next = await eventually(
      () => locks.acquire('report:abandoned', { ttl: 10_000 }).catch((err: Error) => err),
      (r) => !(r instanceof LockUnavailableError),
    );
    expect(next).toBeInstanceOf(LockHandle);
    await (next as LockHandle).release();
  });

  it('does not hold the lock once Redis answers again: the next PATCH succeeds, not 409 for the whole lease', async () => {
    expect((await patch(t, 1, 'Before the freeze')).status).toBe(200);
    redis.freeze();
    const refused = await patch(t, 1, 'During the freeze');
    expect(refused.status).toBe(503);
    expect(refused.body.message).toMatch(/nothing was changed/);
    redis.thaw();
    // Until the breaker has seen Redis answer, PATCH fails fast with 503; the first answer
    // after that must be a success, while the late SET NX would hold the lock for 10 s.
    const next = await eventually(
      () => patch(t, 1, 'After the freeze'),
      (r) => r.status !== 503,
    );
    expect(next.status).toBe(200);
    const state = t.app.get<RedisClient>(getRedisToken('state'));
    expect(await state.exists(t.app.get(LockService).lockKey('user:1'))).toBe(0);
  });
});

/** Every key matching a pattern, deduplicated (SCAN may repeat keys). */
async function allKeys(client: RedisClient, match: string): Promise<string[]> {
  const seen = new Set<string>();
  for await (const batch of scanKeys(client, { match })) for (const k of batch) seen.add(k);
  return [...seen];
}

describe('what anonymous clients can leave in the state Redis', () => {
  let t: TestApp;
  let prefix: string;

  beforeAll(async () => {
    prefix = testPrefix(__filename);
    t = await createTestApp({
      prefix,
      env: {
        LEADERBOARD_MAX_BOARDS: '3',
        LEADERBOARD_MAX_ENTRIES: '2',
        LEADERBOARD_IDLE_TTL_MS: '600000',
      },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  // The app's own streams, created at start-up or by the app itself (the feed's activity stream
  // with its fan-out group, its dead letters, the realtime streams) have no TTL: each is trimmed
  // by MAXLEN in every XADD (docs/keyspace.md). What anonymous input adds must expire.
  const APP_STREAMS = [':feed:activity', ':feed:dead', ':rt:{events}', ':rt:{adapter}'];
  const keysWithoutTtl = async (): Promise<string[]> => {
    const state = t.app.get<RedisClient>(getRedisToken('state'));
    const keys = (await allKeys(state, `${prefix}:*`)).filter(
      (k) => !APP_STREAMS.some((s) => k === `${prefix}${s}`),
    );
    const ttls = await Promise.all(keys.map((k) => state.pttl(k)));
    return keys.filter((_, i) => ttls[i] === -1);
  };

  it('invalid PATCH input is refused before any Redis command: no key appears', async () => {
    const state = t.app.get<RedisClient>(getRedisToken('state'));
    const before = await allKeys(state, `${prefix}:*`);
    const garbage = ['abc', '0', '-1', '1e3', '99999999999', 'x'.repeat(300), '%20', '1.5'];
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        i % 2 === 0
          ? patch(t, garbage[i % garbage.length] + (i >= 100 ? String(i) : ''), 'x')
          : http(`${t.url}/api/users/1`, { method: 'PATCH', body: { name: 42 + i } }),
      ),
    );
    expect(new Set(responses.map((r) => r.status))).toEqual(new Set([400]));
    // Rate limiting runs before validation and keeps its own (expiring) key per client.
    const after = (await allKeys(state, `${prefix}:*`)).filter((k) => !k.includes(':rl:'));
    expect(after.sort()).toEqual(before.filter((k) => !k.includes(':rl:')).sort());
  });

  it('PATCHes of users that do not exist leave only keys that expire', async () => {
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) => patch(t, 1_000_000 + i, 'ghost')),
    );
    expect(new Set(responses.map((r) => r.status))).toEqual(new Set([404]));
    expect(await keysWithoutTtl()).toEqual([]);
  });

  it('leaderboards are bounded: a new board beyond the limit is 409, a board keeps its top entries, and every key expires', async () => {
    const score = (board: string, member: string, s: number) =>
      http(`${t.url}/api/leaderboard/${board}/scores`, {
        method: 'POST',
        body: { member, score: s },
      });
    for (const b of ['b1', 'b2', 'b3']) expect((await score(b, 'ada', 1)).status).toBe(200);
    const fourth = await score('b4', 'ada', 1);
    expect(fourth.status).toBe(409);
    expect(fourth.body.message).toMatch(/already 3 leaderboards/);
    expect((await score('b1', 'alan', 2)).status).toBe(200); // existing boards stay writable
    const low = await score('b1', 'grace', 0); // full (2 entries) and not among the top 2
    expect(low.status).toBe(409);
    expect(low.body.message).toMatch(/top 2 entries/);
    const high = await score('b1', 'grace', 5);
    expect(high.status).toBe(200);
    expect(high.body).toEqual({ rank: 1, member: 'grace', score: 5 });
    const top = await http(`${t.url}/api/leaderboard/b1?top=10`);
    expect(top.body.entries.map((e: { member: string }) => e.member)).toEqual(['grace', 'alan']);
    const many = await Promise.all(
      Array.from({ length: 50 }, (_, i) => score(`spam-${i}`, 'bot', i)),
    );
    expect(new Set(many.map((r) => r.status))).toEqual(new Set([409]));
    expect(await keysWithoutTtl()).toEqual([]);
  });
});
