/**
 * Redis cannot answer now: the connection was lost, or a command timed out and the server has
 * not answered since. Thrown at once instead of letting every later command wait for its own
 * timeout, so one request never waits more than one command timeout for an unresponsive Redis.
 */
export class RedisUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUnavailableError';
  }
}

/**
 * ioredis errors that mean "Redis cannot be reached now" (503 at the edge), as opposed to a
 * Redis reply error, which is a bug (500).
 */
export function isRedisUnavailableError(e: unknown): boolean {
  const err = e as { name?: string; message?: string } | undefined;
  return (
    err?.name === 'RedisUnavailableError' ||
    err?.name === 'MaxRetriesPerRequestError' ||
    err?.name === 'ClusterAllFailedError' ||
    /^(Connection is closed\.|Command timed out|Stream isn't writeable)/.test(err?.message ?? '')
  );
}
