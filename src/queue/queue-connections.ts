import { Logger } from '@nestjs/common';
import { RateLimitedLogger } from '../common';
import { createRedisClient, RedisClient, ResolvedConnection } from '../redis';

/**
 * BullMQ's connections, built from the `state` role's settings (RedisService.connectionSettings):
 * never the project's StallBreaker or command timeout on worker connections (blocking commands
 * must wait, and the breaker costs ~25 µs per command in the hot path), no ioredis `keyPrefix`.
 */
export function workerConnection(settings: ResolvedConnection, name: string): RedisClient {
  return logged(
    createRedisClient(settings, {
      name,
      maxRetriesPerRequest: null, // BullMQ requires it for workers: retry commands forever
      commandTimeout: null,
      enableAutoPipelining: false,
    }),
    name,
  );
}

/**
 * The producers' connection: fails fast when Redis is unreachable (no offline queue, one retry)
 * and bounds every command by the role's command timeout, so an enqueue answers 503 instead of
 * hanging.
 */
export function producerConnection(settings: ResolvedConnection, name: string): RedisClient {
  return logged(
    createRedisClient(settings, {
      name,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      enableAutoPipelining: false,
    }),
    name,
  );
}

function logged(client: RedisClient, name: string): RedisClient {
  const errors = new RateLimitedLogger(new Logger('Queue'), 10_000);
  client.on('error', (err: Error) => errors.warn(`redis ${name}: ${err.message}`));
  return client;
}

/** Resolves true when `p` settles within `ms`, false otherwise (`p` keeps running). */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Closes a client: QUIT within `ms`, else a hard disconnect (a dead Redis never answers QUIT). */
export async function closeWithin(client: RedisClient, ms: number): Promise<void> {
  if (client.status === 'ready') await settlesWithin(client.quit(), ms);
  if (client.status !== 'end') client.disconnect();
}
