import { ConflictError, InvalidReferenceError } from '../../src/common/app-error';
import { Database } from '../../src/database/database';
import { migrate, seedDemoData } from '../../src/database/migrator';
import { PostgresDatabase } from '../../src/database/postgres.database';
import { PagesRepository } from '../../src/pages/pages.repository';
import { PostsRepository } from '../../src/posts/posts.repository';
import { UsersRepository } from '../../src/users/users.repository';
import { databaseTargets } from '../support/database';

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
      const created = await users.create({ email: 'next@example.com', name: 'Next' });
      expect(created.id).toBe(4);
    });

    it('maps a duplicate email to ConflictError and an unknown author to InvalidReferenceError', async () => {
      const users = new UsersRepository(db);
      await expect(users.create({ email: 'ada@example.com', name: 'Dup' })).rejects.toBeInstanceOf(
        ConflictError,
      );
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
          expect(results.flat()).toEqual([
            '001_init',
            '002_user_version_and_fence',
            '003_counter_flushes',
          ]);
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
