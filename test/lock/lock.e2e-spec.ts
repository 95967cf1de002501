import { Database } from '../../src/database';
import {
  LockLostError,
  LockNotAcquiredError,
  LockUnavailableError,
  currentLock,
  LockService,
  WithLock,
} from '../../src/lock';
import { getRedisToken, RedisClient } from '../../src/redis';
import { Injectable, Module } from '@nestjs/common';
import {
  createTestApp,
  http,
  PLATFORMS,
  TestApp,
  testPrefix,
  openSharedTestDatabase,
} from '../support/app';
import { describeOnPlatforms } from '../support/platforms';
import { usePrivateRedisApp } from '../support/private-redis';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

@Injectable()
class InventoryService {
  stock = 100;

  /** A read-modify-write with an await in the middle: only safe under the lock. */
  @WithLock({ key: 'sku:{0}', ttl: 2_000, wait: 5_000, retryDelay: 5 })
  async take(_sku: string): Promise<{ left: number; fence: number | undefined }> {
    const read = this.stock;
    await sleep(2);
    this.stock = read - 1;
    return { left: this.stock, fence: currentLock()?.fencingToken };
  }
}

@Module({ providers: [InventoryService] })
class InventoryModule {}

describe('LockService against real Redis', () => {
  let t: TestApp;
  let locks: LockService;
  let redis: RedisClient;
  let n = 0;
  const resource = () => `res:${++n}`;

  beforeAll(async () => {
    t = await createTestApp({ prefix: testPrefix(__filename), role: 'api' });
    locks = t.app.get(LockService);
    redis = t.app.get(getRedisToken('state'));
  });
  afterAll(async () => {
    await t?.close();
  });

  it('lets one holder in at a time and hands out strictly increasing fencing tokens', async () => {
    const r = resource();
    const a = await locks.acquire(r, { ttl: 5_000 });
    await expect(locks.acquire(r)).rejects.toBeInstanceOf(LockNotAcquiredError);
    expect(await a.release()).toBe(true);
    const b = await locks.acquire(r);
    expect(b.fencingToken).toBeGreaterThan(a.fencingToken);
    await b.release();
    const c = await locks.acquire(r);
    expect(c.fencingToken).toBeGreaterThan(b.fencingToken);
    await c.release();
    expect(a.token).toMatch(/^[0-9a-f]{32}$/); // 128 random bits
  });

  it('isHeld says whether a resource is held now, without taking it', async () => {
    const r = resource();
    expect(await locks.isHeld(r)).toBe(false);
    expect(await redis.exists(locks.lockKey(r))).toBe(0); // asking took nothing
    const h = await locks.acquire(r, { ttl: 5_000 });
    expect(await locks.isHeld(r)).toBe(true);
    expect(await locks.isHeld(resource())).toBe(false); // another resource
    await h.release();
    expect(await locks.isHeld(r)).toBe(false);
  });

  it('fires the signal of a holder whose lease ran out, and its late release does not free the next holder', async () => {
    const r = resource();
    const stale = await locks.acquire(r, { ttl: 200 }); // no extension: as if the process was paused
    const aborted = new Promise<unknown>((resolve) =>
      stale.signal.addEventListener('abort', () => resolve(stale.signal.reason)),
    );
    expect(await aborted).toBeInstanceOf(LockLostError);
    await sleep(50);
    const next = await locks.acquire(r, { ttl: 5_000 });
    expect(next.fencingToken).toBeGreaterThan(stale.fencingToken);
    expect(await stale.release()).toBe(false);
    expect(await redis.get(locks.lockKey(r))).toBe(next.token);
    await expect(stale.extend()).rejects.toBeInstanceOf(LockLostError);
    await next.release();
  });

  it('fires the signal when an extension finds the lock gone (expired in Redis or taken over)', async () => {
    const r = resource();
    const h = await locks.acquire(r, { ttl: 5_000 });
    await redis.del(locks.lockKey(r));
    await expect(h.extend()).rejects.toBeInstanceOf(LockLostError);
    expect(h.signal.aborted).toBe(true);
  });

  it('using() extends the lease while the work runs longer than the ttl', async () => {
    const r = resource();
    const result = await locks.using(r, { ttl: 300 }, async (signal, fence) => {
      await sleep(1000);
      await expect(locks.acquire(r)).rejects.toBeInstanceOf(LockNotAcquiredError);
      return { aborted: signal.aborted, fence };
    });
    expect(result.aborted).toBe(false);
    expect(result.fence).toBeGreaterThan(0);
    expect(await redis.exists(locks.lockKey(r))).toBe(0); // released
  });

  it('using() rejects with LockLostError as soon as the lease is lost, while the work is still running', async () => {
    const r = resource();
    let finished = false;
    const run = locks.using(r, { ttl: 300 }, async (signal) => {
      await sleep(1500);
      finished = true;
      return signal.aborted;
    });
    await sleep(50);
    await redis.del(locks.lockKey(r)); // someone else's takeover, or expiry after a failover
    await expect(run).rejects.toBeInstanceOf(LockLostError);
    expect(finished).toBe(false);
  });

  it('waits for a busy lock with bounded, jittered retries', async () => {
    const r = resource();
    const h = await locks.acquire(r, { ttl: 5_000 });
    setTimeout(() => void h.release(), 300);
    const waited = await locks.acquire(r, { wait: 3_000, retryDelay: 25 });
    expect(waited.fencingToken).toBeGreaterThan(h.fencingToken);
    await waited.release();
    const held = await locks.acquire(r, { ttl: 5_000 });
    await expect(locks.acquire(r, { wait: 200, retryDelay: 25 })).rejects.toBeInstanceOf(
      LockNotAcquiredError,
    );
    await held.release();
  });
});

describe('@WithLock on a service method', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({
      prefix: testPrefix(__filename),
      role: 'api',
      extraModules: [InventoryModule],
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('serialises concurrent calls (resource from the arguments) and exposes the fencing token', async () => {
    const inventory = t.app.get(InventoryService);
    const results = await Promise.all(Array.from({ length: 50 }, () => inventory.take('A-1')));
    expect(inventory.stock).toBe(50);
    const fences = results.map((r) => r.fence!).sort((a, b) => a - b);
    expect(new Set(fences).size).toBe(50);
    expect(fences.every((f, i) => i === 0 || f > fences[i - 1])).toBe(true);
  });
});

describe('two app instances × 500 lock-protected read-modify-writes of one row', () => {
  let db: Database;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    db = await openSharedTestDatabase();
    const prefix = testPrefix(__filename);
    a = await createTestApp({ prefix, database: db, platform: 'fastify' });
    b = await createTestApp({ prefix, database: db, platform: 'express' });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.close();
  });

  it('counts exactly 1000, contended requests getting 409 JSON and retrying', async () => {
    const [{ version: before }] = await db.query<{ version: number }>(
      'SELECT version FROM users WHERE id = 1',
    );
    let conflicts = 0;
    const patchUntilDone = async (url: string, i: number) => {
      for (let attempt = 0; attempt < 500; attempt++) {
        const res = await http(`${url}/api/users/1`, { method: 'PATCH', body: { name: `n${i}` } });
        if (res.status === 200) return;
        expect(res.status).toBe(409);
        expect(res.body.error).toBe('Resource is being updated');
        conflicts++;
        await sleep(1 + Math.floor(Math.random() * 5));
      }
      throw new Error('gave up');
    };
    const worker = async (url: string, from: number) => {
      for (let i = from; i < from + 50; i++) await patchUntilDone(url, i);
    };
    // 10 concurrent callers per instance, 50 updates each: 500 per instance.
    await Promise.all([
      ...Array.from({ length: 10 }, (_, w) => worker(a.url, w * 50)),
      ...Array.from({ length: 10 }, (_, w) => worker(b.url, 500 + w * 50)),
    ]);
    const [{ version: after }] = await db.query<{ version: number }>(
      'SELECT version FROM users WHERE id = 1',
    );
    expect(after - before).toBe(1000);
    expect(conflicts).toBeGreaterThan(0); // the lock was actually contended
  }, 180_000); // 1,000 sequential-per-caller round trips with retries: minutes on a loaded machine
});

describeOnPlatforms('@WithLock endpoints', (t) => {
  it('POST /api/reports/daily runs once at a time: concurrent callers get 409', async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, () => http(`${t.url}/api/reports/daily`, { method: 'POST' })),
    );
    const ok = results.filter((r) => r.status === 200);
    const conflicts = results.filter((r) => r.status === 409);
    expect(ok).toHaveLength(1);
    expect(conflicts).toHaveLength(4);
    expect(conflicts[0].body).toMatchObject({
      statusCode: 409,
      error: 'Resource is being updated',
    });
    expect(ok[0].body).toMatchObject({
      users: expect.any(Number),
      fencingToken: expect.any(Number),
    });
    // Released afterwards.
    expect((await http(`${t.url}/api/reports/daily`, { method: 'POST' })).status).toBe(200);
  });

  it('counts acquisitions in lock_acquire_total', async () => {
    const text = (await http(`${t.url}/metrics`)).text;
    expect(text).toMatch(/lock_acquire_total\{result="acquired"\} [1-9]/);
    expect(text).toMatch(/lock_acquire_total\{result="contended"\} [1-9]/);
  });

  it('counts a lease that ran out while held in lock_lost_total, even when nobody watched its signal', async () => {
    const lostTotal = async () =>
      Number(/^lock_lost_total (\d+)$/m.exec((await http(`${t.url}/metrics`)).text)?.[1]);
    const locks = t.app.get(LockService);
    const before = await lostTotal();
    const h = await locks.acquire(`lost:${process.hrtime.bigint()}`, { ttl: 100 }); // never extended, signal never read
    await sleep(150);
    expect(h.lost).toBe(true);
    expect(h.signal.aborted).toBe(true);
    await h.release();
    expect(await lostTotal()).toBe(before + 1);

    const kept = await locks.acquire(`kept:${process.hrtime.bigint()}`, { ttl: 5_000 });
    await kept.release();
    expect(kept.lost).toBe(false); // a lease released in time is not lost, then or later
    expect(await lostTotal()).toBe(before + 1);
  });
});

describe.each(PLATFORMS)('locks with Redis stopped on %s', (platform) => {
  const fixture = usePrivateRedisApp(__filename, platform);

  it('fail closed: 503 and nothing written', async () => {
    const t = fixture.app();
    const before = (await http(`${t.url}/api/users/2`)).body;
    await fixture.redis().stop();
    const res = await http(`${t.url}/api/users/2`, {
      method: 'PATCH',
      body: { name: 'must not be written' },
    });
    expect(res.status).toBe(503);
    expect(res.body.message).toMatch(/Redis is unavailable/);
    expect((await http(`${t.url}/api/reports/daily`, { method: 'POST' })).status).toBe(503);
    await expect(t.app.get(LockService).acquire('x')).rejects.toBeInstanceOf(LockUnavailableError);
    expect((await http(`${t.url}/api/users/2`)).body.name).toBe(before.name);
    await fixture.redis().restart();
  });
});
