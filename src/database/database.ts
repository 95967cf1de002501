/** What a repository needs: parameterized SQL (`$1, $2, …`), rows back. */
export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

/**
 * The database seam. Two implementations with the same SQL: PGlite (PostgreSQL compiled to
 * WASM, in process: the default, no server needed) and node-postgres against a real server
 * (`DATABASE_URL`). Inject `Database` and write plain parameterized SQL.
 */
export abstract class Database implements Queryable {
  abstract readonly kind: 'pglite' | 'postgres';
  abstract query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  abstract transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  abstract close(): Promise<void>;
}

/** PostgreSQL error codes a repository maps to domain errors. */
export const PG = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  numericOutOfRange: '22003',
  invalidTextRepresentation: '22P02',
} as const;

export function pgErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code : undefined;
}
