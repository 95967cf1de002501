import { PGlite, Transaction } from '@electric-sql/pglite';
import { Database, Queryable } from './database';
import { pgliteOptions } from './pglite-settings';
import { createMemoryPglite, prepareDataDir } from './pglite-template';

/** PostgreSQL in process (WASM). One connection; PGlite queues concurrent queries itself. */
export class PgliteDatabase extends Database {
  readonly kind = 'pglite' as const;

  private constructor(private readonly db: PGlite) {
    super();
  }

  /**
   * `dataDir` null → in memory (tests, demos); otherwise a folder that persists across restarts.
   * A new database starts from the prepared template, not from initdb (pglite-template.ts).
   */
  static async open(dataDir: string | null): Promise<PgliteDatabase> {
    if (dataDir === null) return new PgliteDatabase(await createMemoryPglite());
    await prepareDataDir(dataDir);
    return new PgliteDatabase(await PGlite.create(dataDir, pgliteOptions()));
  }

  async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    const res = await this.db.query<T>(sql, params);
    return res.rows;
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx: Transaction) =>
      fn({
        query: async <R>(sql: string, params: unknown[] = []) =>
          (await tx.query<R>(sql, params)).rows,
      }),
    );
  }

  async close(): Promise<void> {
    if (!this.db.closed) await this.db.close();
  }
}
