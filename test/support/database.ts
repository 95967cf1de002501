import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { Database, PgliteDatabase, PostgresDatabase } from '../../src/database';

export interface DatabaseTarget {
  name: 'pglite' | 'postgres';
  /** Opens a fresh, empty database (in-memory PGlite, or a new schema on the server). */
  open(): Promise<Database>;
  /** Drops what open() created. */
  cleanup(): Promise<void>;
}

/**
 * The databases DB suites run against: in-memory PGlite always; and, when DATABASE_URL is set,
 * the real PostgreSQL server too, each test file in a schema of its own.
 */
export function databaseTargets(): DatabaseTarget[] {
  const targets: DatabaseTarget[] = [];
  const opened: Database[] = [];
  targets.push({
    name: 'pglite',
    open: async () => {
      const db = await PgliteDatabase.open(null);
      opened.push(db);
      return db;
    },
    cleanup: async () => {
      await Promise.all(opened.splice(0).map((d) => d.close()));
    },
  });
  const url = process.env.DATABASE_URL;
  if (url && /^postgres(ql)?:\/\//.test(url)) {
    const schemas: string[] = [];
    const pgOpened: Database[] = [];
    targets.push({
      name: 'postgres',
      open: async () => {
        const schema = `t_${randomBytes(6).toString('hex')}`;
        schemas.push(schema);
        const db = await PostgresDatabase.open({ url, schema, max: 4 });
        pgOpened.push(db);
        return db;
      },
      cleanup: async () => {
        await Promise.all(pgOpened.splice(0).map((d) => d.close()));
        const admin = new Pool({ connectionString: url, max: 1 });
        try {
          for (const s of schemas.splice(0))
            await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
        } finally {
          await admin.end();
        }
      },
    });
  }
  return targets;
}
