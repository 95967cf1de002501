import { CacheService, CacheSerializationError, parseEnvelope } from '../../src/cache';
import { LockService } from '../../src/lock';
import { getRedisToken, RedisClient } from '../../src/redis';
import { Cluster } from 'ioredis';
import { createTestApp, eventually, TestApp, testPrefix } from '../support/app';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A loader that counts its calls and takes `ms` to answer. */
function slowLoader<T>(value: T, ms = 50) {
  const l = {
    calls: 0,
    fn: async () => {
      l.calls += 1;
      await sleep(ms);
      return value;
    },
  };
  return l;
}

describe('CacheService against real Redis', () => {
  const prefix = testPrefix(__filename);
  let a: TestApp;
  let b: TestApp;
  let cacheA: CacheService;
  let cacheB: CacheService;
  let n = 0;
  const key = () => `k:${++n}`;

  beforeAll(async () => {
    // Two instances of one fleet: same Redis, same prefix.
    [a, b] = await Promise.all([
      createTestApp({ prefix, role: 'api' }),
      createTestApp({ prefix, role: 'api' }),
    ]);
    cacheA = a.app.get(CacheService);
    cacheB = b.app.get(CacheService);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  it('500 concurrent reads of a cold key call the loader once in one process', async () => {
    const k = key();
    const loader = slowLoader({ answer: 42 });
    const results = await Promise.all(
      Array.from({ length: 500 }, () => cacheA.getOrSet(k, loader.fn, { ttl: 60_000 })),
    );
    expect(loader.calls).toBe(1);
    expect(results.every((r) => r.answer === 42)).toBe(true);
    expect(await cacheA.getOrSet(k, loader.fn)).toEqual({ answer: 42 });
    expect(loader.calls).toBe(1);
  });

  it('two instances load a cold key at most once each; with the fleet lock exactly once in all', async () => {
    const k1 = key();
    const l1 = slowLoader('v', 100);
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 ? cacheA : cacheB).getOrSet(k1, l1.fn)),
    );
    expect(l1.calls).toBeGreaterThanOrEqual(1);
    expect(l1.calls).toBeLessThanOrEqual(2);

    const k2 = key();
    const l2 = slowLoader('v', 100);
    const values = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        (i % 2 ? cacheA : cacheB).getOrSet(k2, l2.fn, { lock: true }),
      ),
    );
    expect(l2.calls).toBe(1);
    expect(new Set(values)).toEqual(new Set(['v']));
  });

  it('with the fleet lock, a waiter loads the value itself when the holder fails without storing one', async () => {
    const k = key();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const holder = cacheA.getOrSet(
      k,
      async () => {
        await gate;
        throw new Error('db down');
      },
      { lock: true },
    );
    // The holder's lock is LockService's, on the entry key without the app prefix.
    const locks = a.app.get(LockService);
    expect(await eventually(() => locks.isHeld(`cache:default:${k}`), Boolean)).toBe(true);
    const own = slowLoader('loaded by the waiter', 1);
    const waiter = cacheB.getOrSet(k, own.fn, { lock: true });
    await sleep(100);
    expect(own.calls).toBe(0); // waiting for the holder's value, not loading
    release();
    await expect(holder).rejects.toThrow('db down');
    expect(await waiter).toBe('loaded by the waiter');
    expect(own.calls).toBe(1);
    expect(await locks.isHeld(`cache:default:${k}`)).toBe(false);
  });

  it('never stores a value loaded before an eviction (the lost-invalidation race)', async () => {
    const k = key();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // A slow read that fetched the old row before the write below committed …
    const staleLoad = cacheA.getOrSet(k, async () => {
      await gate;
      return 'old row';
    });
    await sleep(20);
    // … the write commits and evicts (from another instance) …
    await cacheB.del(k);
    release();
    expect(await staleLoad).toBe('old row'); // the caller that read it still gets it
    // … but it is not stored: the next read loads the new row.
    expect(await cacheB.getOrSet(k, () => 'new row')).toBe('new row');
    expect(await cacheA.getOrSet(k, () => 'newer row')).toBe('new row');
  });

  it('caches null as a negative entry, and never caches undefined', async () => {
    const k = key();
    const nul = slowLoader(null, 1);
    expect(await cacheA.getOrSet(k, nul.fn, { negativeTtl: 60_000 })).toBeNull();
    expect(await cacheA.getOrSet(k, nul.fn, { negativeTtl: 60_000 })).toBeNull();
    expect(nul.calls).toBe(1);

    const k2 = key();
    const undef = slowLoader(undefined, 1);
    await cacheA.getOrSet(k2, undef.fn);
    await cacheA.getOrSet(k2, undef.fn);
    expect(undef.calls).toBe(2);
  });

  it('a negative entry expires after negativeTtl', async () => {
    const k = key();
    const nul = slowLoader(null, 1);
    await cacheA.getOrSet(k, nul.fn, { negativeTtl: 100 });
    await sleep(250);
    await cacheA.getOrSet(k, nul.fn, { negativeTtl: 100 });
    expect(nul.calls).toBe(2);
  });

  it('invalidates by tag across instances, without touching other tags', async () => {
    const [k1, k2] = [key(), key()];
    const l1 = slowLoader('one', 1);
    const l2 = slowLoader('two', 1);
    await cacheA.getOrSet(k1, l1.fn, { tags: ['team:1'] });
    await cacheA.getOrSet(k2, l2.fn, { tags: ['team:2'] });
    await cacheB.invalidateTags(['team:1']);
    await sleep(5); // the tag timestamp must be strictly older than the next load's start
    await cacheA.getOrSet(k1, l1.fn, { tags: ['team:1'] });
    await cacheA.getOrSet(k2, l2.fn, { tags: ['team:2'] });
    expect(l1.calls).toBe(2);
    expect(l2.calls).toBe(1);
    // Reading without naming the tags still honours the tags stored in the entry.
    await cacheB.invalidateTags(['team:2']);
    expect(await cacheA.get(k2)).toBeUndefined();
  });

  it('serves a stale value while exactly one refresh runs (stale-while-revalidate)', async () => {
    const k = key();
    let version = 0;
    let calls = 0;
    const loader = async () => {
      calls += 1;
      await sleep(150);
      return ++version;
    };
    const opts = { ttl: 1000, staleTtl: 10_000, beta: 0 };
    expect(await cacheA.getOrSet(k, loader, opts)).toBe(1);
    await sleep(1050); // now stale, inside the grace window
    const burst = await Promise.all(
      Array.from({ length: 50 }, () => cacheA.fetch(k, loader, opts)),
    );
    expect(burst.every((r) => r.result === 'stale' && r.value === 1)).toBe(true);
    expect(calls).toBe(2); // the first load plus exactly one refresh
    await sleep(300);
    expect(await cacheA.fetch(k, loader, opts)).toEqual({ value: 2, result: 'hit' });
    expect(calls).toBe(2);
  });

  it('decides freshness from the envelope it reads (one GET), not from the key’s TTL', async () => {
    const redis = a.app.get<RedisClient>(getRedisToken('cache'));
    const opts = { ttl: 60_000, staleTtl: 60_000, beta: 0 };
    // An entry whose fresh-until time has passed, on a key with two minutes to live (by PTTL
    // minus the grace it would have a fresh minute left): stale (served, one refresh).
    const k = key();
    const past = { v: '"old"', p: 1, d: 0, c: Date.now() - 5000, g: 60_000, e: Date.now() - 1 };
    await redis.set(cacheA.entryKey('default', k), JSON.stringify(past), 'PX', 120_000);
    const loader = slowLoader('new', 10);
    expect(await cacheA.fetch(k, loader.fn, opts)).toEqual({ value: 'old', result: 'stale' });
    await eventually(
      async () => (await cacheA.fetch(k, loader.fn, opts)).value,
      (v) => v === 'new',
    );
    expect(loader.calls).toBe(1);
    // What this version stores: a metadata line with its fresh-until time and the plain-JSON
    // flag, then the value's JSON text as it is. (The entry above, written in the earlier form,
    // one JSON object, was read.)
    const raw = (await redis.get(cacheA.entryKey('default', k)))!;
    expect(raw.slice(raw.indexOf('\n') + 1)).toBe('"new"');
    const stored = parseEnvelope(raw);
    expect(stored.p).toBe(1);
    expect(stored.e).toBeGreaterThan(Date.now() + 50_000);
    expect(stored.e).toBeLessThanOrEqual(Date.now() + 60_000);
    // An entry written before envelopes carried `e` counts as fresh until Redis expires it.
    const legacy = key();
    const old = {
      v: JSON.stringify({ at: { $date: '2026-01-02T03:04:05.000Z' } }),
      d: 0,
      c: Date.now(),
      g: 0,
    };
    await redis.set(cacheA.entryKey('default', legacy), JSON.stringify(old), 'PX', 60_000);
    const never = slowLoader('unused');
    expect(await cacheA.fetch(legacy, never.fn, opts)).toEqual({
      value: { at: new Date('2026-01-02T03:04:05.000Z') },
      result: 'hit',
    });
    expect(never.calls).toBe(0);
  });

  it('serves the stale value when the refresh fails (stale-if-error)', async () => {
    const k = key();
    await cacheA.getOrSet(k, () => 'good', { ttl: 50, staleTtl: 10_000 });
    await sleep(100);
    const r = await cacheA.fetch(k, () => Promise.reject(new Error('db down')), {
      ttl: 50,
      staleTtl: 10_000,
    });
    expect(r).toEqual({ value: 'good', result: 'stale' });
  });

  it('returns the fresh value when the refresh beats the soft timeout, the stale one otherwise', async () => {
    const k = key();
    await cacheA.getOrSet(k, () => 'v1', { ttl: 50, staleTtl: 10_000 });
    await sleep(100);
    expect(
      await cacheA.fetch(k, async () => 'v2', { ttl: 50, staleTtl: 10_000, timeout: 1000 }),
    ).toEqual({ value: 'v2', result: 'miss' });
    await sleep(100);
    const slow = await cacheA.fetch(k, () => sleep(500).then(() => 'v3'), {
      ttl: 50,
      staleTtl: 10_000,
      timeout: 20,
    });
    expect(slow).toEqual({ value: 'v2', result: 'stale' });
  });

  it('fails a load after the hard timeout, and the late value is still stored', async () => {
    const k = key();
    await expect(
      cacheA.getOrSet(k, () => sleep(300).then(() => 'late'), { hardTimeout: 50 }),
    ).rejects.toThrow(/hard timeout of 50 ms/);
    await sleep(400);
    expect(await cacheA.get(k)).toBe('late');
  });

  it('keeps Dates as Dates and refuses values JSON cannot hold at the call site', async () => {
    const k = key();
    const when = new Date('2026-01-02T03:04:05.000Z');
    await cacheA.getOrSet(k, () => ({ when }));
    const back = await cacheB.getOrSet<{ when: Date }>(k, () => ({ when: new Date(0) }));
    expect(back.when).toBeInstanceOf(Date);
    expect(back.when.toISOString()).toBe(when.toISOString());
    await expect(cacheA.getOrSet(key(), () => ({ big: 1n }))).rejects.toBeInstanceOf(
      CacheSerializationError,
    );
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(cacheA.set(key(), circular)).rejects.toBeInstanceOf(CacheSerializationError);
  });

  it('deletes by prefix with SCAN, leaving other caches alone', async () => {
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => cacheA.set(`report:${i}`, i, { cache: 'ops' })),
    );
    await cacheA.set('keep', 1, { cache: 'ops' });
    await cacheA.set('report:0', 1, { cache: 'other' });
    expect(await cacheA.deleteByPrefix('ops', 'report:')).toBe(30);
    expect(await cacheA.get('keep', { cache: 'ops' })).toBe(1);
    expect(await cacheA.get('report:0', { cache: 'other' })).toBe(1);
  });
});

describe('L1 coherence', () => {
  let a: TestApp;
  let b: TestApp;
  let cacheA: CacheService;
  let cacheB: CacheService;
  let redis: RedisClient;

  beforeAll(async () => {
    const prefix = testPrefix(__filename);
    const env = { CACHE_L1_MAX_ENTRIES: '100', CACHE_L1_TTL_MS: '60000' };
    [a, b] = await Promise.all([
      createTestApp({ prefix, env, role: 'api' }),
      createTestApp({ prefix, env, role: 'api' }),
    ]);
    cacheA = a.app.get(CacheService);
    cacheB = b.app.get(CacheService);
    redis = b.app.get(getRedisToken('cache'));
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  /** Writes an entry behind the cache's back, so only a read that skips L1 can see it. */
  async function overwriteInRedis(cache: CacheService, key: string, value: string): Promise<void> {
    const envelope = { v: JSON.stringify(value), d: 0, c: Date.now(), g: 0 };
    await redis.set(cache.entryKey('default', key), JSON.stringify(envelope), 'PX', 60_000);
  }

  it('drops entries on other instances when a tag is invalidated', async () => {
    await cacheB.getOrSet('tagged', () => 'v1', { tags: ['grp'] });
    await overwriteInRedis(cacheB, 'tagged', 'v2');
    expect(await cacheB.get('tagged')).toBe('v1'); // served from B's L1
    await cacheA.invalidateTags(['grp']);
    const seen = await eventually(
      () => cacheB.get('tagged', { tags: ['grp'] }),
      (v) => v !== 'v1',
    );
    expect(seen).toBeUndefined(); // the Redis entry predates the invalidation too
  });

  it('clears L1 when the invalidation subscriber reconnects (messages may have been lost)', async () => {
    await cacheB.getOrSet('rc', () => 'v1');
    await overwriteInRedis(cacheB, 'rc', 'v2');
    expect(await cacheB.get('rc')).toBe('v1'); // served from B's L1
    // Cut every pub/sub connection server-side, as a network blip would.
    const nodes = redis instanceof Cluster ? redis.nodes('all') : [redis];
    await Promise.all(nodes.map((n) => n.call('CLIENT', 'KILL', 'TYPE', 'pubsub')));
    const seen = await eventually(
      () => cacheB.get('rc'),
      (v) => v === 'v2',
    );
    expect(seen).toBe('v2');
  });
});
