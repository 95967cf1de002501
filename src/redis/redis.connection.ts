import { Logger } from '@nestjs/common';
import { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { RedisTopology } from '../config/config.schema';
import type { RedisClient } from './redis.constants';

export interface ConnectionSettings {
  topology: RedisTopology;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  username?: string;
  password?: string;
  tls: boolean;
}

export interface ConnectionOverrides {
  /** Name used in logs and in `CLIENT SETNAME` (`<prefix>:<name>`). */
  name: string;
  /** `null` for blocking and BullMQ worker connections, which must wait for Redis indefinitely. */
  maxRetriesPerRequest?: number | null;
  /** Blocking commands (BRPOP, XREAD BLOCK) must not be cut by the command timeout. */
  commandTimeout?: number | null;
  enableAutoPipelining?: boolean;
  enableOfflineQueue?: boolean;
  lazyConnect?: boolean;
  /** Cluster: route SSUBSCRIBE to each channel's slot owner (sharded pub/sub). */
  shardedSubscribers?: boolean;
}

/** Capped exponential back-off with full jitter: 50 ms, 100 ms, … up to 2 s. Never gives up. */
export function retryDelay(
  attempt: number,
  baseMs = 50,
  capMs = 2000,
  random = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 16));
  return Math.max(baseMs, Math.round(ceiling * (0.5 + random() / 2)));
}

/** host:port of a topology for logs: never a password. */
export function describeTopology(t: RedisTopology): string {
  switch (t.mode) {
    case 'standalone': {
      const u = new URL(t.url);
      return `${u.protocol}//${u.hostname}:${u.port || 6379}/${u.pathname.replace('/', '') || '0'}`;
    }
    case 'cluster':
      return `cluster(${t.nodes.map((n) => `${n.host}:${n.port}`).join(',')})`;
    case 'sentinel':
      return `sentinel(${t.name}@${t.sentinels.map((n) => `${n.host}:${n.port}`).join(',')})`;
  }
}

/**
 * Builds an ioredis client for any topology from config alone. The rest of the code only sees
 * {@link RedisClient}.
 */
export function createRedisClient(
  settings: ConnectionSettings,
  o: ConnectionOverrides,
): RedisClient {
  const base: RedisOptions = {
    connectionName: o.name,
    connectTimeout: settings.connectTimeoutMs,
    commandTimeout:
      o.commandTimeout === null ? undefined : (o.commandTimeout ?? settings.commandTimeoutMs),
    maxRetriesPerRequest: o.maxRetriesPerRequest === undefined ? 2 : o.maxRetriesPerRequest,
    enableAutoPipelining: o.enableAutoPipelining ?? false,
    enableOfflineQueue: o.enableOfflineQueue ?? true,
    lazyConnect: o.lazyConnect ?? false,
    retryStrategy: (attempt) => retryDelay(attempt),
    // Reconnect (and resend) after a failover turns our master into a read-only replica.
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
    username: settings.username,
    password: settings.password,
    tls: settings.tls ? {} : undefined,
  };
  const t = settings.topology;
  switch (t.mode) {
    case 'standalone':
      // ioredis merges left to right, first value wins: the URL's host, port, db and credentials,
      // then our options. `rediss://` URLs turn TLS on by themselves.
      return new Redis(t.url, base);
    case 'sentinel':
      return new Redis({
        ...base,
        sentinels: t.sentinels,
        name: t.name,
        sentinelRetryStrategy: (attempt) => retryDelay(attempt),
      });
    case 'cluster': {
      const clusterOptions: ClusterOptions = {
        redisOptions: base,
        clusterRetryStrategy: (attempt) => retryDelay(attempt),
        enableAutoPipelining: base.enableAutoPipelining,
        enableOfflineQueue: base.enableOfflineQueue,
        lazyConnect: base.lazyConnect,
        maxRedirections: 16,
        shardedSubscribers: o.shardedSubscribers ?? false,
        slotsRefreshTimeout: Math.max(1000, settings.connectTimeoutMs),
      };
      return new Cluster(t.nodes, clusterOptions);
    }
  }
}

const everReady = new WeakSet<object>();

/** Marks a client that has reached `ready` once (done by {@link attachConnectionLogging}). */
export function trackReady(client: RedisClient): void {
  if (client.status === 'ready') everReady.add(client);
  client.on('ready', () => everReady.add(client));
}

/**
 * True when the client has lost its connection: it was ready once and is not now (during an
 * outage ioredis cycles through reconnecting, connecting and close; all count), or it was
 * closed. A client still making its first connection is not disconnected: its commands wait,
 * bounded by the command timeout. Fail-open reads and fail-closed locks use this to answer at
 * once during an outage instead of queueing.
 */
export function isDisconnected(client: RedisClient): boolean {
  if (client.status === 'end') return true;
  return client.status !== 'ready' && everReady.has(client);
}

const ERROR_LOG_INTERVAL_MS = 5000;

/**
 * Logs a client's lifecycle through Nest's logger: connect, ready, close, reconnecting and
 * errors (an outage logs its error once per interval, not once per retry). Never logs
 * credentials: only the role name and host:port.
 */
export function attachConnectionLogging(
  client: RedisClient,
  name: string,
  where: string,
  logger: Logger,
): void {
  trackReady(client);
  let lastErrorAt = 0;
  let suppressed = 0;
  client.on('connect', () => logger.log(`redis ${name}: connected to ${where}`));
  client.on('ready', () => logger.log(`redis ${name}: ready`));
  client.on('close', () => logger.warn(`redis ${name}: connection closed`));
  client.on('reconnecting', (delay: number) =>
    logger.debug(`redis ${name}: reconnecting in ${delay} ms`),
  );
  client.on('end', () => logger.log(`redis ${name}: connection ended`));
  client.on('error', (err: Error) => {
    const now = Date.now();
    if (now - lastErrorAt < ERROR_LOG_INTERVAL_MS) {
      suppressed += 1;
      return;
    }
    const extra = suppressed > 0 ? ` (${suppressed} similar errors suppressed)` : '';
    lastErrorAt = now;
    suppressed = 0;
    logger.error(`redis ${name}: ${err.message}${extra}`);
  });
}

/**
 * Closes a client cleanly: QUIT when it is connected (pending replies arrive first), a plain
 * disconnect when it is not or when QUIT does not answer in time. Never hangs shutdown.
 */
export async function closeRedisClient(client: RedisClient, timeoutMs = 2000): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.quit(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
  } catch {
    // Already closing: fall through to disconnect.
  } finally {
    if (timer) clearTimeout(timer);
    if ((client.status as string) !== 'end') client.disconnect();
  }
}
