import { readFileSync } from 'node:fs';
import { AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../../src/redis';
import { http, sharedRedisEnv, testPrefix } from '../support/app';
import { alive, processGroup, until, waitReady } from '../support/processes';

/**
 * The built entry points as a user runs them (`node dist/main.js`), with only the environment
 * given here: embedded defaults, signals, config failures and the worker role.
 */
// Built processes start in seconds here, but in tens of seconds on a loaded CI machine.
jest.setTimeout(180_000);

describe('built entry points', () => {
  const group = processGroup();
  const { run, tempDir } = group;

  afterAll(() => group.cleanup());

  it('production without secrets or Redis exits 1 and names every missing variable', async () => {
    const p = run('main', { NODE_ENV: 'production' });
    expect(await p.exited).toBe(1);
    expect(p.output()).toMatch(/JWT_SECRET is required in production/);
    expect(p.output()).toMatch(/SESSION_SECRET is required in production/);
    expect(p.output()).toMatch(/REDIS_URL is required in production/);
  });

  it('production with a placeholder or short secret exits 1 and names it', async () => {
    const p = run('main', {
      NODE_ENV: 'production',
      REDIS_URL: 'redis://127.0.0.1:1',
      JWT_SECRET: 'changeme-changeme-changeme-changeme-123',
      SESSION_SECRET: 'short',
    });
    expect(await p.exited).toBe(1);
    expect(p.output()).toMatch(/JWT_SECRET looks like a placeholder/);
    expect(p.output()).toMatch(/SESSION_SECRET is too short/);
  });

  it('without a redis-server binary and no REDIS_URL, exits 1 saying how to get one', async () => {
    const p = run('main', {
      PATH: '/nonexistent',
      DATA_DIR: tempDir(),
      PORT: String(await freePort()),
    });
    expect(await p.exited).toBe(1);
    expect(p.output()).toMatch(/no redis-server binary was found/);
    expect(p.output()).toMatch(/apt-get install redis-server/);
    expect(p.output()).toMatch(/docker compose up -d redis/);
    expect(p.output()).toMatch(/REDIS_URL/);
  });

  it('with no environment, starts a private redis-server and PGlite, keeps data across restarts, and SIGTERM stops both', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = { DATA_DIR: dataDir, PORT: String(port) };

    const first = run('main', env);
    await waitReady(url, first);
    expect((await http(`${url}/api/users/1`)).body).toMatchObject({ id: 1, name: 'Ada Lovelace' });
    const created = await http(`${url}/api/users`, {
      method: 'POST',
      body: { email: 'persist@example.com', name: 'Persisted', password: 'correct horse battery' },
    });
    expect(created.status).toBe(201);
    const redisPid = Number(readFileSync(join(dataDir, 'redis', 'redis.pid'), 'utf8'));
    expect(alive(redisPid)).toBe(true);

    first.proc.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(await until(() => !alive(redisPid))).toBe(true);

    const second = run('main', env);
    await waitReady(url, second);
    expect((await http(`${url}/api/users/${created.body.id}`)).body).toEqual(created.body);
    second.proc.kill('SIGINT');
    expect(await second.exited).toBe(0);
  });

  it('when the app is killed with SIGKILL, its private redis-server does not outlive it', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const p = run('main', { DATA_DIR: dataDir, PORT: String(port) });
    await waitReady(`http://127.0.0.1:${port}`, p);
    const redisPid = Number(readFileSync(join(dataDir, 'redis', 'redis.pid'), 'utf8'));
    p.proc.kill('SIGKILL');
    await p.exited;
    expect(await until(() => !alive(redisPid), 10_000)).toBe(true);
  });

  it('the worker entry point runs the worker role: operations endpoints, no domain routes', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const p = run('worker', {
      ...sharedRedisEnv(),
      REDIS_PREFIX: testPrefix(__filename),
      DATABASE_URL: 'memory://',
      PORT: String(port),
    });
    await waitReady(url, p);
    expect((await http(`${url}/metrics`)).status).toBe(200);
    expect((await http(`${url}/api/users/1`)).status).toBe(404);
    p.proc.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it('a process whose PORT is taken exits 1 saying to give it its own PORT', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const { port } = blocker.address() as AddressInfo;
    try {
      const p = run('worker', {
        ...sharedRedisEnv(),
        REDIS_PREFIX: testPrefix(__filename),
        DATABASE_URL: 'memory://',
        PORT: String(port),
      });
      expect(await p.exited).toBe(1);
      expect(p.output()).toMatch(new RegExp(`PORT ${port} on 127\\.0\\.0\\.1 is in use`));
      expect(p.output()).toMatch(/PORT=3001 npm run start:worker/);
    } finally {
      blocker.close();
    }
  });

  it('APP_ROLE=api runs the domain routes against the configured Redis (standalone or Cluster)', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const p = run('main', {
      ...sharedRedisEnv(),
      APP_ROLE: 'api',
      REDIS_PREFIX: testPrefix(__filename),
      DATABASE_URL: 'memory://',
      PORT: String(port),
    });
    await waitReady(url, p);
    expect((await http(`${url}/api/users/2`)).status).toBe(200);
    p.proc.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });
});
