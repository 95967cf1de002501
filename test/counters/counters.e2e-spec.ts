import { CounterService } from '../../src/counters';
import { Database } from '../../src/database';
import { PAGE_VIEWS } from '../../src/pages';
import { getRedisToken, RedisClient } from '../../src/redis';
import { createTestApp, http, TestApp, testPrefix, openSharedTestDatabase } from '../support/app';
import { describeOnPlatforms } from '../support/platforms';
import { usePrivateRedisApp } from '../support/private-redis';

const views = async (db: Database, id: number) =>
  (
    await db.query<{ views: number }>('SELECT views::int AS views FROM pages WHERE id = $1', [id])
  )[0].views;

describe('page views: two API instances, write-back by the worker', () => {
  let db: Database;
  let a: TestApp;
  let b: TestApp;
  let counters: CounterService;

  beforeAll(async () => {
    db = await openSharedTestDatabase();
    const prefix = testPrefix(__filename);
    // Flushing is driven by the test (COUNTER_FLUSH_MS is long), so each step is observable.
    const env = { COUNTER_FLUSH_MS: '3600000' };
    a = await createTestApp({ prefix, env, database: db, role: 'api', platform: 'fastify' });
    b = await createTestApp({ prefix, env, database: db, role: 'all', platform: 'express' });
    counters = b.app.get(CounterService);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.close();
  });

  it('1000 concurrent views across two instances: views = 1000 before and after a flush', async () => {
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => http(`${(i % 2 ? a : b).url}/api/pages/2`)),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(Math.max(...results.map((r) => r.body.views as number))).toBe(1000);
    expect((await http(`${a.url}/api/pages/2`)).body.views).toBe(1001);
    expect(await views(db, 2)).toBe(0);

    expect(await counters.flush(PAGE_VIEWS.name)).toBe(1001);
    expect(await views(db, 2)).toBe(1001);
    expect((await http(`${b.url}/api/pages/2`)).body.views).toBe(1002);
    await counters.flush(PAGE_VIEWS.name);
    expect(await views(db, 2)).toBe(1002);
  });

  it('counter_flush_last_success_timestamp_seconds: set by a completed flush in the flushing process, not by a failed one', async () => {
    const STAMP = /^counter_flush_last_success_timestamp_seconds\{counter="page-views"\} (\S+)$/m;
    const stamp = async (t: TestApp) => {
      const m = STAMP.exec((await http(`${t.url}/metrics`)).text);
      return m ? Number(m[1]) : undefined;
    };
    await counters.flush(PAGE_VIEWS.name); // the `all` role flushes
    const started = await stamp(b);
    expect(started).toBeGreaterThan(1e9);
    expect(await stamp(a)).toBeUndefined(); // the API role never flushes

    // A batch the database refuses (a non-numeric id): the flush fails and the clock stays.
    const state = b.app.get<RedisClient>(getRedisToken('state'));
    const flushing = counters.flushingKey(PAGE_VIEWS.name);
    await state.hset(flushing, '__batch', 'broken-batch', 'not-a-number', '1');
    try {
      await expect(counters.flush(PAGE_VIEWS.name)).rejects.toThrow();
      expect(await stamp(b)).toBe(started);
    } finally {
      await state.del(flushing);
    }
    const before = Date.now() / 1000;
    await counters.flush(PAGE_VIEWS.name);
    expect(await stamp(b)).toBeGreaterThanOrEqual(Math.floor(before));
  });

  it('a flush killed before its commit loses nothing: the next flush applies the batch', async () => {
    const before = await views(db, 3);
    await Promise.all(Array.from({ length: 40 }, () => http(`${a.url}/api/pages/3`)));
    const batch = await counters.detach(PAGE_VIEWS.name); // … and the flusher dies here
    expect(batch).not.toBeNull();
    await Promise.all(Array.from({ length: 10 }, () => http(`${a.url}/api/pages/3`))); // views keep coming
    expect((await http(`${a.url}/api/pages/3`)).body.views).toBe(before + 51); // live: pending + stranded batch
    await counters.flush(PAGE_VIEWS.name);
    expect(await views(db, 3)).toBe(before + 51);
  });

  it('a flush killed after its commit duplicates nothing: the next flush only clears the batch', async () => {
    const before = await views(db, 1);
    await Promise.all(Array.from({ length: 30 }, () => http(`${b.url}/api/pages/1`)));
    const batch = (await counters.detach(PAGE_VIEWS.name))!;
    expect(await counters.apply(PAGE_VIEWS.name, batch.id)).toBe(30); // committed … then the flusher dies
    expect(await views(db, 1)).toBe(before + 30);
    expect((await http(`${b.url}/api/pages/1`)).body.views).toBe(before + 31); // not double-counted while stranded
    await counters.flush(PAGE_VIEWS.name);
    expect(await views(db, 1)).toBe(before + 31);
    expect(await counters.flush(PAGE_VIEWS.name)).toBe(0);
  });

  it('several flushers at once apply each increment exactly once', async () => {
    const before = await views(db, 2);
    for (let round = 0; round < 5; round++) {
      await Promise.all([
        ...Array.from({ length: 50 }, (_, i) => http(`${(i % 2 ? a : b).url}/api/pages/2`)),
        counters.flush(PAGE_VIEWS.name),
        a.app.get(CounterService).flush(PAGE_VIEWS.name),
      ]);
    }
    await counters.flush(PAGE_VIEWS.name);
    await counters.flush(PAGE_VIEWS.name);
    expect(await views(db, 2)).toBe(before + 250);
  });

  it('a view of a page that does not exist is a 404 and is not counted', async () => {
    expect((await http(`${a.url}/api/pages/999`)).status).toBe(404);
    expect((await counters.hit(PAGE_VIEWS.name, 999, 0)).pending).toBe(0);
  });

  it('the worker flushes on shutdown', async () => {
    const prefix = testPrefix(__filename);
    const worker = await createTestApp({
      prefix,
      env: { COUNTER_FLUSH_MS: '3600000' },
      database: db,
      role: 'all',
    });
    const before = await views(db, 1);
    await Promise.all(Array.from({ length: 7 }, () => http(`${worker.url}/api/pages/1`)));
    await worker.close();
    expect(await views(db, 1)).toBe(before + 7);
  });
});

describeOnPlatforms('unique visitors', (t) => {
  it('counts distinct visitor ids per page and day (HyperLogLog)', async () => {
    for (let i = 0; i < 300; i++)
      await http(`${t.url}/api/pages/3`, { headers: { 'x-visitor-id': `visitor-${i % 100}` } });
    const res = await http(`${t.url}/api/pages/3/unique-visitors`);
    expect(res.status).toBe(200);
    expect(res.body.uniqueVisitors).toBeGreaterThanOrEqual(98); // HLL: 0.81% standard error
    expect(res.body.uniqueVisitors).toBeLessThanOrEqual(102);
    expect(
      (await http(`${t.url}/api/pages/3/unique-visitors?date=2001-01-01`)).body.uniqueVisitors,
    ).toBe(0);
  });

  it.each(['2026-13-01', 'yesterday', '2026-1-1', '2026-02-30x'])(
    'rejects date=%s with 400',
    async (date) => {
      expect((await http(`${t.url}/api/pages/3/unique-visitors?date=${date}`)).status).toBe(400);
    },
  );

  it('404 for an unknown page, 400 for a bad id', async () => {
    expect((await http(`${t.url}/api/pages/777/unique-visitors`)).status).toBe(404);
    expect((await http(`${t.url}/api/pages/x/unique-visitors`)).status).toBe(400);
  });
});

describe('page views with Redis stopped', () => {
  const fixture = usePrivateRedisApp(__filename, 'fastify');

  it('fail open: the page is served with the database value and the view is not counted', async () => {
    const t = fixture.app();
    expect((await http(`${t.url}/api/pages/1`)).body.views).toBe(1);
    await t.app.get(CounterService).flush(PAGE_VIEWS.name);
    await fixture.redis().stop();
    const res = await http(`${t.url}/api/pages/1`);
    expect(res.status).toBe(200);
    expect(res.body.views).toBe(1);
    expect((await http(`${t.url}/metrics`)).text).toMatch(
      /counter_hits_total\{counter="page-views",result="error"\} [1-9]/,
    );
    await fixture.redis().restart();
  });
});
