import { ConfigurableModuleBuilder } from '@nestjs/common';

/** Where a Redis role lives: one server, a Cluster, or a Sentinel-managed master. */
export type RedisTopology =
  | { mode: 'standalone'; url: string }
  | { mode: 'cluster'; nodes: { host: string; port: number }[]; url?: string }
  | { mode: 'sentinel'; sentinels: { host: string; port: number }[]; name: string; url?: string };

/** How to reach one role's server and how its command client behaves. Times in ms. */
export interface RedisConnectionOptions {
  topology: RedisTopology;
  username?: string;
  password?: string;
  /** TLS to Redis (`rediss://` URLs turn it on too). Default false. */
  tls?: boolean;
  /** A command with no reply in this time fails (and opens the server's stall breaker). Default 2000. */
  commandTimeoutMs?: number;
  /** Connection attempt timeout. Default 5000. */
  connectTimeoutMs?: number;
  /**
   * Batch concurrent commands into one socket write per event-loop turn: on standalone and
   * Sentinel connections the project's write batching (`WriteBatching` in redis.connection.ts),
   * on a Cluster ioredis's auto-pipelining. Default false.
   */
  autoPipelining?: boolean;
}

/**
 * Options of {@link RedisModule}.
 *
 * @example
 * RedisModule.forRoot({
 *   prefix: 'shop',
 *   state: { topology: { mode: 'standalone', url: 'redis://127.0.0.1:6379' } },
 *   cache: { topology: { mode: 'standalone', url: 'redis://cache:6379' }, autoPipelining: true },
 * })
 */
export interface RedisModuleOptions {
  /** First part of every key (`${prefix}:${namespace}:…`): `[A-Za-z0-9_.-]{1,64}`. */
  prefix: string;
  /** The `state` role: queues, sessions, locks, rate limits, counters. Must be `noeviction`. */
  state: RedisConnectionOptions;
  /** The `cache` role, merged over `state` (another, evictable server; its own client options). Default: the state server. */
  cache?: Partial<RedisConnectionOptions>;
}

export type ResolvedConnection = Required<Omit<RedisConnectionOptions, 'username' | 'password'>> &
  Pick<RedisConnectionOptions, 'username' | 'password'>;

export const CONNECTION_DEFAULTS = {
  tls: false,
  commandTimeoutMs: 2000,
  connectTimeoutMs: 5000,
  autoPipelining: false,
} as const;

/** A role's connection options with defaults filled in. */
export function resolveConnection(o: RedisConnectionOptions): ResolvedConnection {
  return {
    ...CONNECTION_DEFAULTS,
    ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)),
  } as ResolvedConnection;
}

export const {
  ConfigurableModuleClass: RedisConfigurableModule,
  MODULE_OPTIONS_TOKEN: REDIS_MODULE_OPTIONS,
  OPTIONS_TYPE: REDIS_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: REDIS_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<RedisModuleOptions>({ moduleName: 'Redis' })
  .setClassMethodName('forRoot')
  .build();
