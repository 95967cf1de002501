import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { AddressInfo, createServer, Socket } from 'node:net';
import { join } from 'node:path';
import { Client } from 'pg';
import { PGLITE_SETTINGS } from '../../src/database';
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

  /** The API role on the shared test Redis, with an in-memory database, listening on `port`. */
  const apiEnv = (port: number): Record<string, string> => ({
    ...sharedRedisEnv(),
    APP_ROLE: 'api',
    REDIS_PREFIX: testPrefix(__filename),
    DATABASE_URL: 'memory://',
    PORT: String(port),
  });

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

  it('when the redis-server cannot start, the PGlite started beside it is closed and given up: the next start on that DATA_DIR owns it', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const failed = run('main', { PATH: '/nonexistent', DATA_DIR: dataDir, PORT: String(port) });
    expect(await failed.exited).toBe(1);
    expect(failed.output()).toMatch(/no redis-server binary was found/);
    // PGlite started at the same time: its cluster is complete (no staging folder left) and
    // its ownership released, not merely abandoned by a dead process.
    expect(existsSync(join(dataDir, 'pglite', 'PG_VERSION'))).toBe(true);
    expect(readdirSync(dataDir).filter((f) => f.endsWith('.init'))).toEqual([]);
    const markers = readdirSync(join(dataDir, 'embedded')).filter((f) =>
      f.startsWith('pglite.owner.'),
    );
    const top = Math.max(...markers.map((f) => Number(f.slice('pglite.owner.'.length))));
    expect(
      JSON.parse(readFileSync(join(dataDir, 'embedded', `pglite.owner.${top}`), 'utf8')),
    ).toMatchObject({ released: true });

    const next = run('main', { DATA_DIR: dataDir, PORT: String(port) });
    await waitReady(`http://127.0.0.1:${port}`, next);
    expect((await http(`http://127.0.0.1:${port}/api/users/1`)).body).toMatchObject({ id: 1 });
    next.proc.kill('SIGTERM');
    expect(await next.exited).toBe(0);
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
    // The embedded PGlite runs with the small-server settings (src/database/pglite-settings.ts).
    const { url: dbUrl } = JSON.parse(
      readFileSync(join(dataDir, 'embedded', 'pglite.json'), 'utf8'),
    ) as { url: string };
    const client = new Client({ connectionString: dbUrl });
    await client.connect();
    try {
      const shown: Record<string, string> = {};
      for (const name of Object.keys(PGLITE_SETTINGS)) {
        const { rows } = await client.query<Record<string, string>>(`SHOW ${name}`);
        shown[name] = rows[0][name];
      }
      expect(shown).toEqual(PGLITE_SETTINGS);
      expect(shown.shared_buffers).toBe('16MB');
    } finally {
      await client.end();
    }
    // The PGlite thread's log lines reach the app's log: a client sending garbage is dropped
    // and reported under the wire server's name.
    const garbage = new Socket();
    await new Promise<void>((resolve) => {
      garbage.once('close', () => resolve());
      garbage.once('error', () => undefined);
      garbage.connect(Number(new URL(dbUrl).port), '127.0.0.1', () =>
        garbage.write(Buffer.from([0, 0, 0, 8, 0, 0, 0x30, 0x39])),
      );
    });
    expect(
      await until(() =>
        /"context":"PgliteWireServer".*closing a client that sent a malformed message/.test(
          first.output(),
        ),
      ),
    ).toBe(true);

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

  it('waitReady does not take a ready answer from another process on the port for the started one', async () => {
    // What a port race looks like: freePort() gave this test a port that another process took
    // before the child listened. Its answers must not pass for the child's.
    const squatter = createHttpServer((_req, res) => res.end('{"status":"ok"}'));
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
    const port = (squatter.address() as AddressInfo).port;
    try {
      const p = run('main', apiEnv(port));
      await expect(waitReady(`http://127.0.0.1:${port}`, p)).rejects.toThrow(
        /not from the started process|exited 1/,
      );
      p.proc.kill('SIGTERM');
      await p.exited;
    } finally {
      squatter.close();
    }
  });

  it('a Fastify process never loads Express; an Express one does (HTTP_PLATFORM)', async () => {
    // Preloaded into the app: at exit, the files of every CommonJS module it loaded.
    const dir = tempDir();
    const probe = join(dir, 'loaded-modules.cjs');
    writeFileSync(
      probe,
      "process.on('exit', () => require('node:fs').writeFileSync(process.env.LOADED_MODULES_FILE, Object.keys(require('node:module')._cache).join('\\n')));\n",
    );
    const loadedBy = async (platform: 'fastify' | 'express'): Promise<string[]> => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const file = join(dir, `${platform}.txt`);
      const p = run('main', {
        ...apiEnv(port),
        APP_ROLE: 'all', // every module, the queue dashboard's platform adapter included
        HTTP_PLATFORM: platform,
        NODE_OPTIONS: `--require ${probe}`,
        LOADED_MODULES_FILE: file,
      });
      await waitReady(url, p);
      expect((await http(`${url}/api/users/2`)).status).toBe(200);
      p.proc.kill('SIGTERM');
      expect(await p.exited).toBe(0);
      return readFileSync(file, 'utf8').split('\n');
    };
    const expressPackages =
      /[\\/]node_modules[\\/](express|@nestjs[\\/]platform-express|@bull-board[\\/]express)[\\/]/;
    const fastify = await loadedBy('fastify');
    const express = await loadedBy('express');
    // The probe sees what a process loads: Express's packages in an Express process, Fastify
    // in a Fastify one.
    expect(express.filter((f) => expressPackages.test(f))).not.toHaveLength(0);
    expect(fastify.filter((f) => /[\\/]node_modules[\\/]fastify[\\/]/.test(f))).not.toHaveLength(0);
    expect(fastify.filter((f) => expressPackages.test(f))).toEqual([]);
  });

  it('APP_ROLE=api runs the domain routes against the configured Redis (standalone or Cluster)', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const p = run('main', apiEnv(port));
    await waitReady(url, p);
    expect((await http(`${url}/api/users/2`)).status).toBe(200);
    p.proc.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });
});
