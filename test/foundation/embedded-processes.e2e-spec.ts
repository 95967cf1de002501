import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from '../../src/redis';
import { eventually, http, sharedRedisEnv, testPrefix } from '../support/app';
import {
  alive,
  isReady,
  processGroup,
  redisServersIn,
  Started,
  until,
  waitReady,
} from '../support/processes';

/**
 * Several local processes on one DATA_DIR with the embedded defaults (issue 7, item 0): the
 * built API (`npm start`), the worker (`npm run start:worker`) and a second API on another
 * PORT share one redis-server and one PGlite database; only the first process (the owner)
 * starts and stops them.
 */

// A fresh PGlite directory (initdb) takes several seconds on a loaded machine.
const START_MS = 90_000;

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

/** Reads the embedded database directly, through the owner's wire server (as the apps do). */
async function sql<T>(dataDir: string, text: string, params: unknown[] = []): Promise<T[]> {
  const { url } = readJson<{ url: string }>(join(dataDir, 'embedded', 'pglite.json'));
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

const redisPid = (dataDir: string) =>
  Number(readFileSync(join(dataDir, 'redis', 'redis.pid'), 'utf8'));

describe('embedded defaults shared by several processes on one DATA_DIR', () => {
  const group = processGroup('nrp-embedded-');
  const dataDir = group.tempDir();
  // Only the worker flushes counters in these tests (the APIs would at shutdown only).
  const base = { DATA_DIR: dataDir, RATE_LIMIT: '1000000/60s', COUNTER_FLUSH_MS: '3600000' };
  let ports: { a: number; b: number; w: number };
  let url: { a: string; b: string; w: string };
  let owner: Started;
  let second: Started;
  let worker: Started;
  let ownerRedisPid: number;

  beforeAll(async () => {
    ports = { a: await freePort(), b: await freePort(), w: await freePort() };
    url = {
      a: `http://127.0.0.1:${ports.a}`,
      b: `http://127.0.0.1:${ports.b}`,
      w: `http://127.0.0.1:${ports.w}`,
    };
    owner = group.run('main', { ...base, PORT: String(ports.a) });
    await waitReady(url.a, owner, START_MS);
    ownerRedisPid = redisPid(dataDir);
    worker = group.run('worker', { ...base, PORT: String(ports.w), COUNTER_FLUSH_MS: '100' });
    second = group.run('main', { ...base, PORT: String(ports.b) });
    await Promise.all([waitReady(url.w, worker, START_MS), waitReady(url.b, second, START_MS)]);
  }, START_MS * 2);

  afterAll(() => group.cleanup());

  it('the worker and a second API become ready beside npm start, which stays ready, and no second redis-server starts', async () => {
    expect(await isReady(url.a)).toBe(true);
    expect(await isReady(url.b)).toBe(true);
    expect(await isReady(url.w)).toBe(true);
    expect(redisPid(dataDir)).toBe(ownerRedisPid);
    expect(alive(ownerRedisPid)).toBe(true);
    expect(redisServersIn(join(dataDir, 'redis'))).toEqual([ownerRedisPid]);
  });

  it('a user created through one API is read back through the other', async () => {
    const viaA = await http(`${url.a}/api/users`, {
      method: 'POST',
      body: {
        email: 'shared-a@example.com',
        name: 'Created on A',
        password: 'correct horse battery',
      },
    });
    expect(viaA.status).toBe(201);
    expect((await http(`${url.b}/api/users/${viaA.body.id}`)).body).toEqual(viaA.body);
    const viaB = await http(`${url.b}/api/users`, {
      method: 'POST',
      body: {
        email: 'shared-b@example.com',
        name: 'Created on B',
        password: 'correct horse battery',
      },
    });
    expect(viaB.status).toBe(201);
    expect((await http(`${url.a}/api/users/${viaB.body.id}`)).body).toEqual(viaB.body);
  });

  it("page views counted by both APIs reach the database through the worker's flush", async () => {
    const [{ views: before }] = await sql<{ views: number }>(
      dataDir,
      'SELECT views::int AS views FROM pages WHERE id = 1',
    );
    for (let i = 0; i < 3; i++) {
      expect((await http(`${url.a}/api/pages/1`)).status).toBe(200);
      expect((await http(`${url.b}/api/pages/1`)).status).toBe(200);
    }
    const flushed = await eventually(
      async () =>
        (
          await sql<{ views: number }>(
            dataDir,
            'SELECT views::int AS views FROM pages WHERE id = 1',
          )
        )[0].views,
      (v) => v === before + 6,
    );
    expect(flushed).toBe(before + 6);
  });

  it('concurrent writes through both APIs, with the worker flushing in transactions meanwhile, all land exactly once', async () => {
    const [{ n: usersBefore }] = await sql<{ n: number }>(
      dataDir,
      'SELECT count(*)::int AS n FROM users',
    );
    const [{ version: versionBefore }] = await sql<{ version: number }>(
      dataDir,
      'SELECT version FROM users WHERE id = 2',
    );
    const [{ views: viewsBefore }] = await sql<{ views: number }>(
      dataDir,
      'SELECT views::int AS views FROM pages WHERE id = 2',
    );
    const api = (i: number) => (i % 2 === 0 ? url.a : url.b);
    const [posts, patches, views] = await Promise.all([
      Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          http(`${api(i)}/api/users`, {
            method: 'POST',
            body: {
              email: `concurrent-${i}@example.com`,
              name: `Concurrent ${i}`,
              password: 'correct horse battery',
            },
          }),
        ),
      ),
      Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          http(`${api(i)}/api/users/2`, { method: 'PATCH', body: { name: `Alan ${i}` } }),
        ),
      ),
      Promise.all(Array.from({ length: 100 }, (_, i) => http(`${api(i)}/api/pages/2`))),
    ]);

    // Status and body of any failure, so a red run says why.
    expect(posts.filter((r) => r.status !== 201).map((r) => [r.status, r.body])).toEqual([]);
    const ids = posts.map((r) => r.body.id as number);
    expect(new Set(ids).size).toBe(200);
    const [{ n: usersAfter }] = await sql<{ n: number }>(
      dataDir,
      'SELECT count(*)::int AS n FROM users',
    );
    expect(usersAfter).toBe(usersBefore + 200);
    const mine = await sql<{ id: number; email: string }>(
      dataDir,
      'SELECT id, email FROM users WHERE id = ANY($1::int[]) ORDER BY id',
      [ids],
    );
    expect(mine.map((u) => u.email).sort()).toEqual(
      posts.map((r) => r.body.email as string).sort(),
    );

    // PATCH is a locked read-modify-write: each success adds exactly one version, contention is a 409.
    expect(patches.map((r) => r.status).filter((s) => s !== 200 && s !== 409)).toEqual([]);
    const patched = patches.filter((r) => r.status === 200).length;
    expect(patched).toBeGreaterThan(0);
    const [{ version: versionAfter }] = await sql<{ version: number }>(
      dataDir,
      'SELECT version FROM users WHERE id = 2',
    );
    expect(versionAfter).toBe(versionBefore + patched);

    expect(views.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
    const flushed = await eventually(
      async () =>
        (
          await sql<{ views: number }>(
            dataDir,
            'SELECT views::int AS views FROM pages WHERE id = 2',
          )
        )[0].views,
      (v) => v === viewsBefore + 100,
    );
    expect(flushed).toBe(viewsBefore + 100);
  });

  it('a process with its own REDIS_URL and no DATABASE_URL uses the same PGlite database', async () => {
    const port = await freePort();
    const c = group.run('main', {
      ...base,
      ...sharedRedisEnv(),
      REDIS_PREFIX: testPrefix(__filename),
      PORT: String(port),
    });
    const urlC = `http://127.0.0.1:${port}`;
    await waitReady(urlC, c, START_MS);
    const created = await http(`${urlC}/api/users`, {
      method: 'POST',
      body: {
        email: 'own-redis@example.com',
        name: 'Own Redis',
        password: 'correct horse battery',
      },
    });
    expect(created.status).toBe(201);
    expect((await http(`${url.a}/api/users/${created.body.id}`)).body).toEqual(created.body);
    c.proc.kill('SIGTERM');
    expect(await c.exited).toBe(0);
    expect(await isReady(url.a)).toBe(true);
  });

  it("SIGTERM of the worker leaves the owner's redis-server and database running", async () => {
    worker.proc.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(alive(ownerRedisPid)).toBe(true);
    expect(await isReady(url.a)).toBe(true);
    expect(await isReady(url.b)).toBe(true);
    expect((await http(`${url.b}/api/users/1`)).status).toBe(200);
  });

  it(
    'SIGTERM of the owner stops the redis-server; the API that outlived it is ready again once the owner restarts on the same DATA_DIR',
    async () => {
      owner.proc.kill('SIGTERM');
      expect(await owner.exited).toBe(0);
      expect(await until(() => !alive(ownerRedisPid))).toBe(true);
      expect(
        await eventually(
          () => isReady(url.b),
          (ok) => !ok,
        ),
      ).toBe(false);

      owner = group.run('main', { ...base, PORT: String(ports.a) });
      await waitReady(url.a, owner, START_MS);
      // Same ports as before: the second API's clients reconnect by themselves.
      await waitReady(url.b, second, 30_000);
      expect((await http(`${url.b}/api/users/1`)).body).toMatchObject({ id: 1 });
      expect(redisServersIn(join(dataDir, 'redis'))).toEqual([redisPid(dataDir)]);
    },
    START_MS * 2,
  );
});

describe('embedded owner election', () => {
  const group = processGroup('nrp-embedded-');
  afterAll(() => group.cleanup());

  /** A pid that surely is no process any more: a child that has exited. */
  async function deadPid(): Promise<number> {
    const child = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => child.once('exit', r));
    return child.pid!;
  }

  it(
    'two processes starting together on a DATA_DIR with stale owner locks: one takes over, both serve, one redis-server',
    async () => {
      const dataDir = group.tempDir();
      const stateDir = join(dataDir, 'embedded');
      mkdirSync(stateDir, { recursive: true });
      const dead = await deadPid();
      // redis: the owner died; pglite: the pid is alive (this test runner) but it is another
      // process than the one that took the lock (a recycled pid).
      writeFileSync(join(stateDir, 'redis.owner.4'), JSON.stringify({ pid: dead, startTime: '1' }));
      writeFileSync(
        join(stateDir, 'redis.json'),
        JSON.stringify({ gen: 4, pid: dead, url: 'redis://127.0.0.1:1', port: 1, ready: true }),
      );
      writeFileSync(
        join(stateDir, 'pglite.owner.7'),
        JSON.stringify({ pid: process.pid, startTime: 'not-this-process' }),
      );
      const [pa, pb] = [await freePort(), await freePort()];
      const env = { DATA_DIR: dataDir, RATE_LIMIT: '1000000/60s' };
      const a = group.run('main', { ...env, PORT: String(pa) });
      const b = group.run('main', { ...env, PORT: String(pb) });
      await Promise.all([
        waitReady(`http://127.0.0.1:${pa}`, a, START_MS),
        waitReady(`http://127.0.0.1:${pb}`, b, START_MS),
      ]);

      expect(redisServersIn(join(dataDir, 'redis'))).toEqual([redisPid(dataDir)]);
      const owners = (service: string) =>
        readdirSync(stateDir)
          .filter((f) => f.startsWith(`${service}.owner.`))
          .map((f) => readJson<{ pid: number }>(join(stateDir, f)).pid);
      for (const service of ['redis', 'pglite']) {
        const pids = owners(service);
        expect(pids).toHaveLength(1);
        expect([a.proc.pid, b.proc.pid]).toContain(pids[0]);
      }
      const created = await http(`http://127.0.0.1:${pa}/api/users`, {
        method: 'POST',
        body: { email: 'race@example.com', name: 'Race', password: 'correct horse battery' },
      });
      expect((await http(`http://127.0.0.1:${pb}/api/users/${created.body.id}`)).body).toEqual(
        created.body,
      );
    },
    START_MS * 2,
  );
});
