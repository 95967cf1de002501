import { Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import { CacheService } from '../../src/cache';
import { CounterService } from '../../src/counters';
import { Database } from '../../src/database';
import { LockLostError, LockService } from '../../src/lock';
import { PAGE_VIEWS } from '../../src/pages';
import { RedisThrottlerStorage } from '../../src/rate-limit';
import { UsersRepository } from '../../src/users';
import { createTestApp, eventually, http, isClusterRun, TestApp, testPrefix } from '../support/app';
import {
  asClient,
  FailoverLoad,
  LimitedRouteModule,
  RATE_LIMIT_TEST,
} from '../support/failover-load';
import { redisCli, redisInfo, TestRedisCluster } from '../support/redis';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** GET on a cluster replica (READONLY first, on the same connection). */
async function readOnReplica(port: number, key: string): Promise<string | null> {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
  try {
    await r.connect();
    await r.call('READONLY');
    return await r.get(key);
  } finally {
    r.disconnect();
  }
}

/*
 * Cluster failover, for real: a private 6-node cluster (3 masters, 3 replicas,
 * cluster-node-timeout 3 s) of this file's own, since killing nodes of the run's shared cluster
 * would break the other files. It belongs to the Cluster run (`npm run test:cluster`), where the
 * app's Cluster client is what is under test; the standalone run proves failover with Sentinel
 * (sentinel-failover.e2e-spec.ts) and skips this file rather than start six more servers.
 */
const describeCluster = isClusterRun() ? describe : describe.skip;

jest.setTimeout(120_000);

describeCluster('Cluster: a master is killed', () => {
  let cluster: TestRedisCluster;
  let t: TestApp;

  beforeAll(async () => {
    cluster = await TestRedisCluster.start();
    t = await createTestApp({
      prefix: testPrefix(__filename),
      role: 'api', // no counter flusher
      env: { REDIS_CLUSTER_NODES: cluster.nodeList, TRUST_PROXY: 'true' },
      extraModules: [LimitedRouteModule],
    });
  });
  afterAll(async () => {
    await t?.close();
    await cluster?.close();
  });

  /** The master serving a lock's key, checked to have a live replica to promote. */
  async function masterOfLock(resource: string) {
    const slot = await cluster.keySlot(t.app.get(LockService).lockKey(resource));
    const master = await cluster.masterOf(slot);
    expect(await cluster.replicasOf(master)).toHaveLength(1);
    return { slot, master };
  }

  it('under load, answers without a 500 while a replica is promoted, then caches, locks, rate-limits and counts again without a restart', async () => {
    // The victim: the master holding the lock of user 2, which the load PATCHes. The page-view
    // counter's hash-tagged keys live on the same shard; a user's cache entry and a client's
    // rate-limit key are picked so they do too: every check after the failover then runs
    // against the promoted replica, not against a shard that never failed.
    const { slot, master } = await masterOfLock('user:2');
    expect((await masterOfLock('user:1')).master).toBe(master); // for the outage probe
    const pending = t.app.get(CounterService).pendingKey(PAGE_VIEWS.name);
    expect(await cluster.masterOf(await cluster.keySlot(pending))).toBe(master);
    const cacheKey = (id: number) => t.app.get(CacheService).entryKey('users', `user:${id}`);
    let cachedUser = 0;
    for (let i = 0; i < 30 && !cachedUser; i++) {
      const created = await http(`${t.url}/api/users`, {
        method: 'POST',
        body: { email: `ha-${i}@example.com`, name: `HA ${i}`, password: 'correct horse battery' },
      });
      const id = created.body.id as number;
      if ((await cluster.masterOf(await cluster.keySlot(cacheKey(id)))) === master) cachedUser = id;
    }
    expect(cachedUser).toBeGreaterThan(0);
    const rateLimitKey = (ip: string) =>
      t.app.get(RedisThrottlerStorage).key(sha256(`LimitedController-limited-default-ip:${ip}`)); // @nestjs/throttler's generateKey
    let client = '';
    for (let i = 1; i < 255 && !client; i++) {
      const ip = `10.0.9.${i}`;
      if ((await cluster.masterOf(await cluster.keySlot(rateLimitKey(ip)))) === master) client = ip;
    }
    expect(client).not.toBe('');

    const load = new FailoverLoad(t.url, { lockedUser: 2 });
    try {
      await load.waitFor(40);

      // The crash. Writes the master acknowledged but had not yet streamed to its replica are
      // lost (replication is asynchronous): views, rate-limit counts, possibly a lock or a cache
      // eviction on this master's slots. The next test makes that window wide enough to show
      // the one that matters most, a lock granted twice.
      load.enter('outage');
      await cluster.kill(master);
      // Until the replica is promoted (cluster-node-timeout, 3 s, then an election), a lock on
      // the dead master's slots fails closed: user 1's lock lives there too, and the load does
      // not touch it.
      const locked = await http(`${t.url}/api/users/1`, {
        method: 'PATCH',
        body: { name: 'during the outage' },
      });
      expect(locked.status).toBe(503);
      const promoted = await cluster.waitForFailover(master, slot);
      expect(promoted).not.toBe(master);

      // No restart: the client refreshes its slot map when commands to the dead node fail. A
      // PATCH that held the lock when the master died could not release it, so the lock may
      // stay taken (409) until its lease (10 s) runs out on the promoted replica.
      const patched = await eventually(
        () =>
          http(`${t.url}/api/users/${cachedUser}`, { method: 'PATCH', body: { name: 'after' } }),
        (r) => r.status === 200,
        30_000,
      );
      expect(patched.status).toBe(200);
      load.enter('after');

      // Cache: the PATCH evicted the entry; the next read stores it, the one after hits.
      const hit = await eventually(
        () => http(`${t.url}/api/users/${cachedUser}`),
        (r) => r.headers.get('x-cache') === 'HIT',
      );
      expect(hit.headers.get('x-cache')).toBe('HIT');
      expect(hit.body.name).toBe('after');
      expect(await redisCli(promoted.port, 'EXISTS', cacheKey(cachedUser))).toEqual(['1']);

      // Rate limiting counts again: a new client gets exactly its limit.
      const statuses: number[] = [];
      for (let i = 0; i < RATE_LIMIT_TEST + 2; i++)
        statuses.push(
          (await http(`${t.url}/test-ha/limited`, { headers: asClient(client) })).status,
        );
      expect(statuses).toEqual([...Array.from({ length: RATE_LIMIT_TEST }, () => 200), 429, 429]);
      expect(await redisCli(promoted.port, 'EXISTS', rateLimitKey(client))).toEqual(['1']);

      // Counters count again: each view of a quiet page adds one.
      const first = (await http(`${t.url}/api/pages/2`)).body.views as number;
      expect((await http(`${t.url}/api/pages/2`)).body.views).toBe(first + 1);

      const ready = await eventually(
        () => http(`${t.url}/health/ready`),
        (r) => r.status === 200,
      );
      expect(ready.status).toBe(200);
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
    // Once the slot map was refreshed, every route served normally again.
    expect(load.count('after', 'lock', 503)).toBe(0);
    expect(load.count('after', 'lock', 200)).toBeGreaterThan(0);
    expect(load.count('after', 'cache', 200)).toBeGreaterThan(0);
    expect(load.count('after', 'counter', 200)).toBeGreaterThan(0);
  });

  it('grants a lock twice when its master dies before replicating it; the fencing token refuses the stale holder', async () => {
    // Another shard than the previous test's (user 3's lock hashes elsewhere), with its replica.
    const { slot, master } = await masterOfLock('user:3');
    const [replica] = await cluster.replicasOf(master);
    const locks = t.app.get(LockService);
    const lockKey = locks.lockKey('user:3');

    // The replication lag window, made wide enough to see: the replica's link is cut (its PSYNC
    // is refused) while the master keeps acknowledging writes.
    await redisCli(master.port, 'ACL', 'SETUSER', 'default', '-psync', '-sync');
    await redisCli(master.port, 'CLIENT', 'KILL', 'TYPE', 'replica');
    await eventually(
      async () => (await redisInfo(replica.port, 'replication')).master_link_status,
      (s) => s === 'down',
    );

    // A holder takes user 3's lock and stalls before its write (no extension runs).
    const stale = await locks.acquire('user:3', { ttl: 60_000 });
    expect(await redisCli(master.port, 'GET', lockKey)).toEqual([stale.token]);
    expect(await readOnReplica(replica.port, lockKey)).toBeNull(); // not replicated

    await cluster.kill(master);
    expect(await cluster.waitForFailover(master, slot)).toBe(replica);

    // Granted again: a PATCH of user 3 gets the lock while the stale holder still holds it.
    const newHolder = await eventually(
      () => http(`${t.url}/api/users/3`, { method: 'PATCH', body: { name: 'new holder' } }),
      (r) => r.status === 200,
    );
    expect(newHolder.status).toBe(200);
    expect(stale.lost).toBe(false);

    // The stale holder's write carries an older fencing token: the database refuses it.
    //    (It writes as UsersService.update does under its lock: the read-modify-write with its
    //    fencing token; the SQL refuses it, which the service reports as LockLostError.)
    const repo = t.app.get(UsersRepository);
    const version = (await repo.version(3))!;
    expect(
      await repo.update(3, { name: 'stale holder' }, version + 1, stale.fencingToken),
    ).toBeNull();
    const [row] = await t.app
      .get(Database)
      .query<{ name: string }>('SELECT name FROM users WHERE id = 3');
    expect(row.name).toBe('new holder');
    // Had it not been paused, its next extension would have stopped it: the lock is not its own.
    await expect(stale.extend()).rejects.toBeInstanceOf(LockLostError);
    expect(stale.lost).toBe(true);
    expect(await stale.release()).toBe(false);
  });
});
