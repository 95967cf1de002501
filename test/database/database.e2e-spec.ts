import { ConflictError, InvalidReferenceError } from '../../src/common';
import { Database, migrate, seedDemoData, PostgresDatabase } from '../../src/database';
import { PagesRepository } from '../../src/pages';
import { PostsRepository } from '../../src/posts';
import { AppConfig } from '../../src/config';
import { UsersRepository, UsersSeeder } from '../../src/users';
import { verify } from '@node-rs/argon2';
import { freePort } from '../../src/redis';
import { databaseTargets } from '../support/database';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Pool } from 'pg';
import { http, sharedRedisEnv, testPrefix } from '../support/app';

describe.each(databaseTargets().map((t) => [t.name, t] as const))(
  'database layer on %s',
  (_name, target) => {
    let db: Database;

    beforeAll(async () => {
      db = await target.open();
    });
    afterAll(async () => {
      await target.cleanup();
    });

    it('applies each migration once', async () => {
      expect(await migrate(db)).toEqual([
        '001_init',
        '002_user_version_and_fence',
        '003_counter_flushes',
        '004_user_credentials',
      ]);
      expect(await migrate(db)).toEqual([]);
      const tables = await db.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`,
      );
      expect(tables.map((t) => t.table_name)).toEqual([
        'counter_flushes',
        'pages',
        'posts',
        'schema_migrations',
        'users',
      ]);
    });

    it('seeds demo users and pages 1-3 into an empty database only, and new ids continue after them', async () => {
      expect(await seedDemoData(db)).toBe(true);
      expect(await seedDemoData(db)).toBe(false);
      const users = new UsersRepository(db);
      expect((await users.findById(3))?.name).toBe('Grace Hopper');
      expect((await new PagesRepository(db).findById(1))?.slug).toBe('home');
      const created = await users.create({
        email: 'next@example.com',
        name: 'Next',
        passwordHash: 'x',
      });
      expect(created.id).toBe(4);
    });

    it('gives the seeded users the development password once, and writes nothing when none lacks one', async () => {
      const statements: string[] = [];
      // The real database, with the SQL each call sends written down.
      const recording = new Proxy(db, {
        get(target, key) {
          if (key === 'query')
            return (sql: string, params?: unknown[]) => {
              statements.push(sql.trim().split(/\s+/)[0].toUpperCase());
              return target.query(sql, params);
            };
          const value = Reflect.get(target, key) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const users = new UsersRepository(recording);
      const config = { isProduction: false, seedPassword: 'seed-pass-123' } as AppConfig;
      const seeder = new UsersSeeder(users, config);

      await seeder.onApplicationBootstrap();
      expect(statements.filter((s) => s === 'UPDATE')).toHaveLength(3);
      const ada = await users.credentialsByEmail('ada@example.com');
      expect(ada?.role).toBe('admin');
      expect(await verify(ada?.passwordHash ?? '', 'seed-pass-123')).toBe(true);
      expect((await users.credentialsByEmail('alan@example.com'))?.role).toBe('user');

      // A restart: everyone has a password; one SELECT, no hash, no write.
      statements.length = 0;
      await seeder.onApplicationBootstrap();
      expect(statements).toEqual(['SELECT']);

      // One user lost the password: only that one is given it again, with its role.
      await db.query(`UPDATE users SET password_hash = NULL WHERE email = 'grace@example.com'`);
      const alanBefore = (await users.credentialsByEmail('alan@example.com'))?.passwordHash;
      statements.length = 0;
      await seeder.onApplicationBootstrap();
      expect(statements.filter((s) => s === 'UPDATE')).toHaveLength(1);
      const grace = await users.credentialsByEmail('grace@example.com');
      expect(await verify(grace?.passwordHash ?? '', 'seed-pass-123')).toBe(true);
      expect((await users.credentialsByEmail('alan@example.com'))?.passwordHash).toBe(alanBefore);
    });

    it('maps a duplicate email to ConflictError and an unknown author to InvalidReferenceError', async () => {
      const users = new UsersRepository(db);
      await expect(
        users.create({ email: 'ada@example.com', name: 'Dup', passwordHash: 'x' }),
      ).rejects.toBeInstanceOf(ConflictError);
      await expect(users.update(2, { email: 'ada@example.com' }, 1)).rejects.toBeInstanceOf(
        ConflictError,
      );
      await expect(
        new PostsRepository(db).create({ userId: 999, title: 't', content: 'c' }),
      ).rejects.toBeInstanceOf(InvalidReferenceError);
    });

    it('updates only the given fields and reports a missing row as null', async () => {
      const users = new UsersRepository(db);
      expect(await users.update(1, { name: 'Ada K. Lovelace' }, 1)).toEqual({
        id: 1,
        email: 'ada@example.com',
        name: 'Ada K. Lovelace',
      });
      expect(await users.update(12345, { name: 'nobody' }, 1)).toBeNull();
      expect(await users.version(1)).toBe(1);
    });

    it('refuses a write whose fencing token is lower than the last one that wrote the row', async () => {
      const users = new UsersRepository(db);
      expect(await users.update(3, { name: 'fenced 7' }, 1, 7)).not.toBeNull();
      expect(await users.update(3, { name: 'stale holder' }, 2, 6)).toBeNull();
      expect((await users.findById(3))?.name).toBe('fenced 7');
      expect(await users.update(3, { name: 'same holder' }, 2, 7)).not.toBeNull();
      expect(await users.update(3, { name: 'next holder' }, 3, 8)).not.toBeNull();
      expect(await users.version(3)).toBe(3);
    });

    it("returns a user's posts newest first, with camelCase fields and Date timestamps", async () => {
      const posts = new PostsRepository(db);
      const a = await posts.create({ userId: 2, title: 'first', content: 'a' });
      const b = await posts.create({ userId: 2, title: 'second', content: 'b' });
      const recent = await posts.recentByUser(2, 10);
      expect(recent.map((p) => p.id)).toEqual([b.id, a.id]);
      expect(recent[0].createdAt).toBeInstanceOf(Date);
      expect(recent[0].userId).toBe(2);
    });

    it('rolls a failed transaction back', async () => {
      await expect(
        db.transaction(async (tx) => {
          await tx.query(`INSERT INTO users (email, name) VALUES ('rollback@example.com', 'R')`);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await db.query(`SELECT 1 FROM users WHERE email = 'rollback@example.com'`)).toEqual(
        [],
      );
    });

    if (target.name === 'postgres') {
      it('lets several instances start at once: concurrent migrations apply once', async () => {
        const url = process.env.DATABASE_URL!;
        const schema = `t_conc_${Date.now().toString(36)}`;
        const instances = await Promise.all(
          [1, 2, 3].map(() => PostgresDatabase.open({ url, schema, max: 2 })),
        );
        try {
          const results = await Promise.all(instances.map((i) => migrate(i)));
          // Every migration file, each applied by exactly one of the three instances.
          const files = readdirSync(resolve(__dirname, '../../src/database/migrations'))
            .filter((f) => f.endsWith('.sql'))
            .map((f) => f.replace(/\.sql$/, ''))
            .sort();
          expect(files.length).toBeGreaterThanOrEqual(4);
          expect(results.flat().sort()).toEqual(files);
          const seeded = await Promise.all(instances.map((i) => seedDemoData(i)));
          expect(seeded.filter(Boolean)).toHaveLength(1);
        } finally {
          await instances[0].query(`DROP SCHEMA "${schema}" CASCADE`);
          await Promise.all(instances.map((i) => i.close()));
        }
      });
    }
  },
);

/**
 * Two separate app PROCESSES (the built dist/main.js) sharing Redis and a real PostgreSQL:
 * 500 lock-protected read-modify-writes through each → the row's version grows by exactly 1000.
 * Needs a PostgreSQL server (PGlite lives inside one process), so it runs when DATABASE_URL
 * points at one — `.ci/run` does that for the database suites.
 */
const url = process.env.DATABASE_URL;
const pgTargets = url && /^postgres(ql)?:\/\//.test(url) ? ['postgres'] : [];
const DIST = resolve(__dirname, '../../dist/main.js');

// A loop, not describe.each: Jest refuses an empty table, and without PostgreSQL there is none.
for (const target of pgTargets)
  describe(`two app processes on ${target}`, () => {
    const schema = `t_procs_${randomBytes(4).toString('hex')}`;
    const procs: ChildProcess[] = [];
    const urls: string[] = [];

    beforeAll(async () => {
      if (!existsSync(DIST))
        throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
      const prefix = testPrefix(__filename);
      for (let i = 0; i < 2; i++) {
        const port = await freePort();
        const p = spawn(process.execPath, [DIST], {
          env: {
            PATH: process.env.PATH ?? '',
            ...sharedRedisEnv(),
            REDIS_PREFIX: prefix,
            DATABASE_URL: url!,
            DATABASE_SCHEMA: schema,
            APP_ROLE: 'api',
            PORT: String(port),
            LOG_LEVEL: 'error',
            RATE_LIMIT: '1000000/60s',
            HTTP_PLATFORM: i === 0 ? 'fastify' : 'express',
          },
          stdio: 'ignore',
        });
        procs.push(p);
        urls.push(`http://127.0.0.1:${port}`);
      }
      for (const u of urls) {
        const deadline = Date.now() + 30_000;
        while (
          Date.now() < deadline &&
          !(await fetch(`${u}/health/ready`).then(
            (r) => r.ok,
            () => false,
          ))
        ) {
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    });

    afterAll(async () => {
      await Promise.all(
        procs.map(
          (p) =>
            new Promise<void>((r) => {
              if (p.exitCode !== null) return r();
              p.once('exit', () => r());
              p.kill('SIGTERM');
            }),
        ),
      );
      const admin = new Pool({ connectionString: url, max: 1 });
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => admin.end());
    });

    it('count exactly 1000 lock-protected increments of one row', async () => {
      const pool = new Pool({ connectionString: url, max: 1, options: `-c search_path=${schema}` });
      try {
        const version = async () =>
          (await pool.query<{ version: number }>('SELECT version FROM users WHERE id = 1')).rows[0]
            .version;
        const before = await version();
        let conflicts = 0;
        const patch = async (u: string, i: number) => {
          for (let attempt = 0; attempt < 1000; attempt++) {
            const res = await http(`${u}/api/users/1`, {
              method: 'PATCH',
              body: { name: `p${i}` },
            });
            if (res.status === 200) return;
            expect(res.status).toBe(409);
            conflicts++;
            await new Promise((r) => setTimeout(r, 1 + Math.floor(Math.random() * 5)));
          }
          throw new Error('gave up');
        };
        const worker = async (u: string, from: number) => {
          for (let i = from; i < from + 50; i++) await patch(u, i);
        };
        await Promise.all(
          urls.flatMap((u, p) => Array.from({ length: 10 }, (_, w) => worker(u, p * 500 + w * 50))),
        );
        expect((await version()) - before).toBe(1000);
        expect(conflicts).toBeGreaterThan(0);
      } finally {
        await pool.end();
      }
    });
  });
