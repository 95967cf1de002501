import { AppError } from '../common';

/**
 * The database could not be reached in time (no pool connection within the connect timeout,
 * refused, reset, shutting down, too many connections): 503 with `Retry-After`, never a 500.
 * What the statement did is unknown only when the connection broke mid-statement; a retry of a
 * create may then find the row (409).
 */
export class DatabaseUnavailableError extends AppError {
  constructor(cause: string) {
    super(
      'UNAVAILABLE',
      'The database is unavailable or overloaded; retry shortly',
      { cause },
      { headers: { 'Retry-After': '1' } },
    );
  }
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
]);

/** Maps connection-level failures of `pg` to DatabaseUnavailableError; others pass through. */
export function asDatabaseError(err: unknown): unknown {
  const e = err as { code?: string; message?: string } | undefined;
  const message = e?.message ?? '';
  if (
    (e?.code && UNAVAILABLE_CODES.has(e.code)) ||
    message.includes('timeout exceeded when trying to connect') ||
    message.includes('Connection terminated')
  ) {
    return new DatabaseUnavailableError(e?.code ?? message);
  }
  return err;
}
