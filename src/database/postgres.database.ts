import { Pool, types } from 'pg';
import { Database, Queryable } from './database';
import { asDatabaseError } from './database.errors';

// int8 (COUNT, SUM, bigint columns) as a JS number: our counters stay far below 2^53.
types.setTypeParser(20, (v) => Number(v));

export interface PostgresOptions {
  url: string;
  schema: string;
  max?: number;
  /** How long a query waits for a pool connection (a free slot or a new one) before 503. Default 5 s. */
  connectTimeoutMs?: number;
}

/** node-postgres pool against a real server; every connection's search_path is the configured schema. */
export class PostgresDatabase extends Database {
  readonly kind = 'postgres' as const;

  private constructor(private readonly pool: Pool) {
    super();
  }

  static async open(o: PostgresOptions): Promise<PostgresDatabase> {
    if (o.schema !== 'public') {
      // CREATE SCHEMA IF NOT EXISTS races between instances starting together (unique
      // violation on pg_namespace): serialize it under a transaction-scoped advisory lock.
      const admin = new Pool({ connectionString: o.url, max: 1 });
      try {
        await admin.query(
          `DO $$ BEGIN PERFORM pg_advisory_xact_lock(hashtext('nrp:schema')); CREATE SCHEMA IF NOT EXISTS "${o.schema}"; END $$`,
        );
      } finally {
        await admin.end();
      }
    }
    const pool = new Pool({
      connectionString: o.url,
      max: o.max ?? 10,
      options: `-c search_path=${o.schema}`,
      connectionTimeoutMillis: o.connectTimeoutMs ?? 5000,
      statement_timeout: 10_000,
    });
    pool.on('error', () => {
      // An idle client lost its connection; the pool replaces it. Queries report their own errors.
    });
    return new PostgresDatabase(pool);
  }

  async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    try {
      const res = await this.pool.query(sql, params);
      return res.rows as T[];
    } catch (err) {
      throw asDatabaseError(err);
    }
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect().catch((err: unknown) => {
      throw asDatabaseError(err);
    });
    try {
      await client.query('BEGIN');
      const result = await fn({
        query: async <R>(sql: string, params: unknown[] = []) =>
          (await client.query(sql, params)).rows as R[],
      });
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw asDatabaseError(err);
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
