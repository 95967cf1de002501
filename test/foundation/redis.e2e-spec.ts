import type { Redis } from 'ioredis';
import {
  RedisKeys,
  deleteByPattern,
  scanKeys,
  getRedisToken,
  RedisClient,
  RedisService,
} from '../../src/redis';
import { createTestApp, eventually, isClusterRun, TestApp, testPrefix } from '../support/app';

describe('global Redis module', () => {
  const prefix = testPrefix(__filename);
  let t: TestApp;
  let state: RedisClient;
  let cache: RedisClient;
  let keys: RedisKeys;

  beforeAll(async () => {
    t = await createTestApp({ prefix, role: 'api' });
    state = t.app.get(getRedisToken('state'));
    cache = t.app.get(getRedisToken('cache'));
    keys = t.app.get(RedisKeys);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('injects one command client per role, both answering', async () => {
    expect(state).not.toBe(cache);
    expect(await state.ping()).toBe('PONG');
    expect(await cache.ping()).toBe('PONG');
  });

  it('builds every key under the configured prefix', () => {
    expect(keys.prefix).toBe(prefix);
    expect(keys.namespace('demo').key('user', 7)).toBe(`${prefix}:demo:user:7`);
  });

  it('registers the Lua scripts on every client: compareAndDelete deletes only on a matching value', async () => {
    const k = keys.namespace('lua').tagged('res', 'owner');
    await state.set(k, 'token-a');
    expect(await state.compareAndDelete(k, 'token-b')).toBe(0);
    expect(await state.get(k)).toBe('token-a');
    expect(await state.compareAndDelete(k, 'token-a')).toBe(1);
    expect(await state.exists(k)).toBe(0);
    await cache.set(k, 'x');
    expect(await cache.compareAndDelete(k, 'x')).toBe(1);
  });

  // A Cluster client keeps ioredis's auto-pipelining (its writes go through node connections).
  (isClusterRun() ? it.skip : it)(
    'batches the commands sent in one event-loop turn into one socket write (write batching), replies in order',
    async () => {
      const k = keys.namespace('batching');
      await cache.mset(...Array.from({ length: 200 }, (_, i) => [k.key(i), `v${i}`]).flat());
      const socket = (cache as Redis).stream;
      const readsBefore = Number(
        /total_reads_processed:(\d+)/.exec(await state.info('stats'))?.[1],
      );
      const replies = Promise.all(Array.from({ length: 200 }, (_, i) => cache.get(k.key(i))));
      expect(socket.writableCorked).toBeGreaterThan(0); // held until the end of this turn
      expect(await replies).toEqual(Array.from({ length: 200 }, (_, i) => `v${i}`));
      expect(socket.writableCorked).toBe(0);
      const readsAfter = Number(/total_reads_processed:(\d+)/.exec(await state.info('stats'))?.[1]);
      // One writev of 200 GETs (≈ 10 KB): Redis reads it in one or two reads; the two INFO
      // calls and the app's background commands add a few. Unbatched, it would be up to 200.
      expect(readsAfter - readsBefore).toBeLessThan(25);
      await cache.del(...Array.from({ length: 200 }, (_, i) => k.key(i)));
    },
  );

  it('runs MULTI across keys sharing a hash tag (one Cluster slot)', async () => {
    const ns = keys.namespace('multi');
    const [a, b] = [ns.tagged('user:1', 'posts'), ns.tagged('user:1', 'stats')];
    const res = await state.multi().lpush(a, 'p1').hincrby(b, 'postCount', 1).exec();
    expect(res?.map(([err]) => err)).toEqual([null, null]);
    expect(await state.hget(b, 'postCount')).toBe('1');
  });

  it('SCANs every node for a namespace and deletes exactly its keys, never others', async () => {
    const target = keys.namespace('scan-target');
    const other = keys.namespace('scan-other');
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 300; i++) writes.push(state.set(target.key('k', i), '1'));
    for (let i = 0; i < 5; i++) writes.push(state.set(other.key('k', i), '1'));
    await Promise.all(writes);

    const seen = new Set<string>();
    for await (const batch of scanKeys(state, { match: target.pattern(), count: 50 }))
      batch.forEach((k) => seen.add(k));
    expect(seen.size).toBe(300);

    expect(await deleteByPattern(state, target.pattern())).toBe(300);
    let left = 0;
    for await (const batch of scanKeys(state, { match: target.pattern() })) left += batch.length;
    expect(left).toBe(0);
    let others = 0;
    for await (const batch of scanKeys(state, { match: other.pattern() })) others += batch.length;
    expect(others).toBe(5);
  });

  it('hands out dedicated subscriber connections that receive what the command client publishes', async () => {
    const redis = t.app.get(RedisService);
    const sub = redis.createDedicated('subscriber', 'test') as Redis;
    const channel = keys.key('channel');
    const received = new Promise<string>((resolve) =>
      sub.on('message', (_c: string, m: string) => resolve(m)),
    );
    await sub.subscribe(channel);
    await state.publish(channel, 'hello');
    expect(await received).toBe('hello');
    await sub.quit();
  });

  it('gives blocking connections no command timeout, while command clients time out', async () => {
    const redis = t.app.get(RedisService);
    const blocking = redis.createDedicated('blocking', 'test');
    const listKey = keys.key('empty-list');
    // The test app's command timeout is 2 s; BLPOP waits 3 s.
    await expect(blocking.blpop(listKey, 3)).resolves.toBeNull();
    await expect(state.blpop(listKey, 3)).rejects.toThrow(/timed out/i);
    await blocking.quit();
    // The timed-out BLPOP still holds the command connection until Redis answers it; commands
    // fail fast meanwhile (the stall breaker) and flow again once a probe is answered.
    await expect(
      eventually(
        () =>
          state.ping().then(
            () => true,
            () => false,
          ),
        (ok) => ok,
      ),
    ).resolves.toBe(true);
  });
});
