import { Database } from '../../src/database';
import { LockLostError, LockService } from '../../src/lock';
import { getRedisToken, RedisClient } from '../../src/redis';
import { UsersRepository } from '../../src/users';
import { createTestApp, eventually, http, isClusterRun, TestApp, testPrefix } from '../support/app';
import {
  asClient,
  FailoverLoad,
  LimitedRouteModule,
  RATE_LIMIT_TEST,
} from '../support/failover-load';
import { redisCli, redisInfo, TestRedis, TestRedisSentinel } from '../support/redis';

/*
 * Sentinel failover, for real: 1 master, 1 replica and 3 Sentinels (quorum 2) of this file's
 * own, the app in Sentinel mode (REDIS_SENTINELS + REDIS_SENTINEL_NAME), and the master killed
 * with SIGKILL. The shared Redis of the run plays no part, so the Cluster run
 * (TEST_REDIS_MODE=cluster) would only repeat this file: it runs in the standalone run only.
 */
const describeSentinel = isClusterRun() ? describe.skip : describe;

jest.setTimeout(120_000);

async function startApp(topology: TestRedisSentinel): Promise<TestApp> {
  return createTestApp({
    prefix: testPrefix(__filename),
    role: 'api', // no counter flusher: pending views stay in Redis, where a failover can lose them
    env: {
      REDIS_SENTINELS: topology.sentinelList,
      REDIS_SENTINEL_NAME: topology.name,
      TRUST_PROXY: 'true', // so each check can be its own rate-limit client (X-Forwarded-For)
    },
    extraModules: [LimitedRouteModule],
  });
}

const rateLimited = (t: TestApp, client: string) =>
  http(`${t.url}/test-ha/limited`, { headers: asClient(client) });

describeSentinel('Sentinel: the master is killed under load', () => {
  let topology: TestRedisSentinel;
  let t: TestApp;

  beforeAll(async () => {
    topology = await TestRedisSentinel.start();
    t = await startApp(topology);
  });
  afterAll(async () => {
    await t?.close();
    await topology?.close();
  });

  it('answers without a 500 while the replica is promoted, then caches, locks, rate-limits and counts again without a restart', async () => {
    const load = new FailoverLoad(t.url);
    try {
      await load.waitFor(40);
      const old = await topology.master();
      expect(old).toBe(topology.servers[0]);

      // The crash. Whatever the master acknowledged in its last milliseconds and had not yet
      // streamed to the replica is gone (replication is asynchronous): a few page views and
      // rate-limit counts, possibly a lock or a cache eviction. The next test makes that window
      // wide enough to measure each loss.
      load.enter('outage');
      await old.kill();
      // While there is no master (the Sentinels wait 1 s before they even call it down), the
      // lock fails closed at once (503) and pages are still served (fail open, view not counted).
      const state = t.app.get<RedisClient>(getRedisToken('state'));
      await eventually(
        async () => state.status,
        (s) => s !== 'ready',
      );
      const locked = await http(`${t.url}/api/users/1`, {
        method: 'PATCH',
        body: { name: 'during the outage' },
      });
      expect(locked.status).toBe(503);
      expect((await http(`${t.url}/api/pages/3`)).status).toBe(200);
      const promoted = await topology.waitForFailover(old);
      expect(promoted).toBe(topology.servers[1]);

      // No restart: ioredis asks the Sentinels for the master on every reconnect.
      const patched = await eventually(
        () => http(`${t.url}/api/users/3`, { method: 'PATCH', body: { name: 'Grace B. Hopper' } }),
        (r) => r.status === 200,
      );
      expect(patched.status).toBe(200); // the lock is acquirable on the new master
      load.enter('after');

      // Cache: the PATCH evicted user 3; the next read loads and stores it, the one after hits.
      const hit = await eventually(
        () => http(`${t.url}/api/users/3`),
        (r) => r.headers.get('x-cache') === 'HIT',
      );
      expect(hit.headers.get('x-cache')).toBe('HIT');
      expect(hit.body.name).toBe('Grace B. Hopper');

      // Rate limiting counts again (it failed open during the outage): a new client gets exactly
      // its limit.
      const statuses: number[] = [];
      for (let i = 0; i < RATE_LIMIT_TEST + 2; i++)
        statuses.push((await rateLimited(t, '10.0.9.9')).status);
      expect(statuses).toEqual([...Array.from({ length: RATE_LIMIT_TEST }, () => 200), 429, 429]);

      // Counters count again: each view of a quiet page adds one.
      const first = (await http(`${t.url}/api/pages/2`)).body.views as number;
      expect((await http(`${t.url}/api/pages/2`)).body.views).toBe(first + 1);

      const ready = await eventually(
        () => http(`${t.url}/health/ready`),
        (r) => r.status === 200,
      );
      expect(ready.status).toBe(200);
      // The app's keys are on the promoted replica now (the old master is dead).
      expect(Number((await redisCli(promoted.port, 'DBSIZE'))[0])).toBeGreaterThan(0);
      // The load's own PATCHes get through again. A lease held when the master died may have
      // reached the replica while its release did not: that lock frees itself when the lease
      // (10 s) runs out, 409 until then.
      await eventually(
        async () => load.count('after', 'lock', 200),
        (n) => n > 0,
        30_000,
      );
      await load.waitFor(40);
    } finally {
      await load.stop();
    }

    // Never a 500 nor a dropped request on any route, before, during or after the failover.
    expect(load.unexpected()).toEqual([]);
    // Once the app was back on the new master, every route served normally again.
    expect(load.count('after', 'lock', 503)).toBe(0);
    expect(load.count('after', 'lock', 200)).toBeGreaterThan(0);
    expect(load.count('after', 'cache', 200)).toBeGreaterThan(0);
    expect(load.count('after', 'counter', 200)).toBeGreaterThan(0);
  });
});

describeSentinel('Sentinel: what a failover loses', () => {
  let topology: TestRedisSentinel;
  let t: TestApp;

  beforeAll(async () => {
    topology = await TestRedisSentinel.start();
    t = await startApp(topology);
  });
  afterAll(async () => {
    await t?.close();
    await topology?.close();
  });

  /** Waits until the replica has applied everything the master has written so far. */
  async function replicaCaughtUp(master: TestRedis, replica: TestRedis): Promise<void> {
    const target = Number((await redisInfo(master.port, 'replication')).master_repl_offset);
    const applied = await eventually(
      async () => Number((await redisInfo(replica.port, 'replication')).slave_repl_offset),
      (offset) => offset >= target,
    );
    expect(applied).toBeGreaterThanOrEqual(target);
  }

  it('acknowledged writes the replica had not received: views, rate-limit counts, a cache eviction and a lock, granted twice, where the fencing token refuses the stale holder', async () => {
    const master = await topology.master();
    const replica = await topology.replica();
    const page = `${t.url}/api/pages/1`;
    const client = '10.2.0.1';

    // 1. State the replica has: a page view, 2 of the client's 3 requests, user 3 cached.
    const viewsReplicated = (await http(page)).body.views as number;
    expect((await rateLimited(t, client)).status).toBe(200);
    expect((await rateLimited(t, client)).status).toBe(200);
    expect((await http(`${t.url}/api/users/3`)).headers.get('x-cache')).toBe('MISS');
    expect((await http(`${t.url}/api/users/3`)).body.name).toBe('Grace Hopper');
    await replicaCaughtUp(master, replica);

    // 2. The replication lag window, made wide enough to see: the replica's link is cut (its
    //    PSYNC is refused) while the master keeps acknowledging writes. In production this
    //    window is the few milliseconds of asynchronous replication before a crash.
    await redisCli(master.port, 'ACL', 'SETUSER', 'default', '-psync', '-sync');
    await redisCli(master.port, 'CLIENT', 'KILL', 'TYPE', 'replica');
    await eventually(
      async () => (await redisInfo(replica.port, 'replication')).master_link_status,
      (s) => s === 'down',
    );

    //    Acknowledged to their callers, then lost:
    let viewsAcknowledged = 0;
    for (let i = 0; i < 5; i++) viewsAcknowledged = (await http(page)).body.views as number;
    expect(viewsAcknowledged).toBe(viewsReplicated + 5);
    expect((await rateLimited(t, client)).status).toBe(200); // the client's 3rd and last request…
    expect((await rateLimited(t, client)).status).toBe(429); // … so the 4th is refused
    const patch = await http(`${t.url}/api/users/3`, {
      method: 'PATCH',
      body: { name: 'Grace B. Hopper' },
    });
    expect(patch.status).toBe(200); // database written, cache entry evicted on the master only
    //    A holder takes user 2's lock and stalls before its write (a GC pause, a slow call): no
    //    extension runs, so it cannot notice when the lock disappears.
    const locks = t.app.get(LockService);
    const stale = await locks.acquire('user:2', { ttl: 60_000 });
    const lockKey = locks.lockKey('user:2');
    expect(await redisCli(master.port, 'GET', lockKey)).toEqual([stale.token]);
    expect(await redisCli(replica.port, 'GET', lockKey)).toEqual([]); // not replicated

    // 3. The master dies; the Sentinels promote the replica, which never saw step 2.
    await master.kill();
    expect(await topology.waitForFailover(master)).toBe(replica);

    await eventually(
      () => http(`${t.url}/health/ready`),
      (r) => r.status === 200,
    );

    //    The 5 acknowledged views are gone: the count continues from the replicated value.
    expect((await http(page)).body.views).toBe(viewsReplicated + 1);

    //    The client's counted 3rd request is forgotten: it gets one more than its limit.
    expect((await rateLimited(t, client)).status).toBe(200);
    expect((await rateLimited(t, client)).status).toBe(429);

    //    The eviction is gone too: the new master still holds user 3 as it was before the PATCH
    //    and serves it (stale) until the entry expires or the user is written again.
    const cached = await http(`${t.url}/api/users/3`);
    expect(cached.headers.get('x-cache')).toBe('HIT');
    expect(cached.body.name).toBe('Grace Hopper');
    const rewritten = await http(`${t.url}/api/users/3`, {
      method: 'PATCH',
      body: { name: 'Grace B. Hopper' },
    });
    expect(rewritten.status).toBe(200);
    expect((await http(`${t.url}/api/users/3`)).body.name).toBe('Grace B. Hopper');

    //    The lock is granted a second time: a new PATCH of user 2 gets it while the stale
    //    holder still believes it holds it (its lease has most of its 60 s to run).
    const newHolder = await http(`${t.url}/api/users/2`, {
      method: 'PATCH',
      body: { name: 'new holder' },
    });
    expect(newHolder.status).toBe(200);
    expect(stale.lost).toBe(false);

    //    The fencing token is what keeps the data right: the stale holder wakes up and writes
    //    with its token, and the database refuses it because the new holder wrote with a newer
    //    one. (A token must keep growing across the failover for this: a plain per-resource INCR
    //    would hand the new holder the very token the lost write had issued.)
    //    (It writes as UsersService.update does under its lock: the read-modify-write with its
    //    fencing token; the SQL refuses it, which the service reports as LockLostError.)
    const repo = t.app.get(UsersRepository);
    const version = (await repo.version(2))!;
    expect(
      await repo.update(2, { name: 'stale holder' }, version + 1, stale.fencingToken),
    ).toBeNull();
    const [row] = await t.app
      .get(Database)
      .query<{ name: string }>('SELECT name FROM users WHERE id = 2');
    expect(row.name).toBe('new holder');
    //    Had it not been paused, its next extension would have stopped it: the lock is not its own.
    await expect(stale.extend()).rejects.toBeInstanceOf(LockLostError);
    expect(stale.lost).toBe(true);
    expect(await stale.release()).toBe(false); // and its late release frees nothing
  });
});
