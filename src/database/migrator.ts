import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Database } from './database';

export const MIGRATIONS_DIR = join(__dirname, 'migrations');

/**
 * Applies `migrations/NNN_name.sql` in order, each once, each in its own transaction. An
 * advisory lock makes concurrent starts (several API instances) wait for one another instead
 * of racing. Returns the ids applied by this call.
 */
export async function migrate(db: Database, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = readdirSync(dir)
    .filter((f) => /^\d+_[\w-]+\.sql$/.test(f))
    .sort();
  const applied: string[] = [];
  await db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('nrp:migrations'))`);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Set(
      (await tx.query<{ id: string }>('SELECT id FROM schema_migrations')).map((r) => r.id),
    );
    for (const file of files) {
      const id = file.replace(/\.sql$/, '');
      if (done.has(id)) continue;
      for (const statement of splitStatements(readFileSync(join(dir, file), 'utf8')))
        await tx.query(statement);
      await tx.query('INSERT INTO schema_migrations (id) VALUES ($1)', [id]);
      applied.push(id);
    }
  });
  return applied;
}

/** Splits a migration into statements (our migrations use no `;` inside strings or bodies). */
export function splitStatements(sql: string): string[] {
  return sql
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n')
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Outside production, an empty database gets demo users and pages (ids 1–3 of each) so a
 * newcomer can call the API at once. Runs under the same advisory lock as migrations.
 */
export async function seedDemoData(db: Database): Promise<boolean> {
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('nrp:migrations'))`);
    const [{ n }] = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
    if (n > 0) return false;
    await tx.query(
      `INSERT INTO users (id, email, name) VALUES
         (1, 'ada@example.com', 'Ada Lovelace'),
         (2, 'alan@example.com', 'Alan Turing'),
         (3, 'grace@example.com', 'Grace Hopper')
       ON CONFLICT DO NOTHING`,
    );
    await tx.query(
      `INSERT INTO pages (id, slug, title, body) VALUES
         (1, 'home', 'Home', 'Welcome to the Redis patterns reference app.'),
         (2, 'about', 'About', 'Cache, locks, rate limits, queues and realtime on Redis.'),
         (3, 'docs', 'Docs', 'See README.md and docs/ for every module.')
       ON CONFLICT DO NOTHING`,
    );
    for (const table of ['users', 'pages']) {
      await tx.query(
        `SELECT setval(pg_get_serial_sequence('${table}', 'id'), (SELECT max(id) FROM ${table}))`,
      );
    }
    return true;
  });
}
