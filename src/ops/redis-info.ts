import type { RedisRole } from '../redis';

/** `INFO` as a map of its `field:value` lines (section headers and blank lines dropped). */
export type RedisInfo = Record<string, string>;

/** Parses the text of `INFO` (any sections). */
export function parseInfo(text: string): RedisInfo {
  const out: RedisInfo = {};
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** `a=1,b=x` (the values of `slave0:…` and `db0:…` lines) as a map. */
export function parseInfoFields(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of value.split(',')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

/** Names of the start-up checks (the `check` label of `redis_config_warnings`). */
export type ConfigCheck = 'eviction_policy' | 'aof_disabled' | 'redis_version' | 'maxmemory_unset';

/** Checks run on each role's servers; the rest do not apply to it. */
export const ROLE_CHECKS: Record<RedisRole, readonly ConfigCheck[]> = {
  state: ['eviction_policy', 'aof_disabled', 'redis_version'],
  cache: ['eviction_policy', 'maxmemory_unset', 'redis_version'],
};

/** The oldest Redis major version the app is written for (Redis Functions, `GETEX`, sharded pub/sub, multi-section `INFO`). */
export const MIN_REDIS_MAJOR = 7;

/** One check's verdict on one server: `problem` says what is wrong, undefined when it passes. */
export interface CheckResult {
  check: ConfigCheck;
  problem?: string;
}

/**
 * The start-up checks of one role on one server, from its `INFO` (no `CONFIG`, which managed
 * Redis services often disable). The one source of truth for the logged warnings and the
 * `redis_config_warnings` metric. `ownServer` is false for the cache role on the state
 * role's server (the default): the cache's eviction and maxmemory checks then do not apply,
 * the state role's rules decide that server's settings.
 */
export function checkServer(role: RedisRole, info: RedisInfo, ownServer = true): CheckResult[] {
  return ROLE_CHECKS[role].map((check) => ({
    check,
    problem: problemOf(check, role, info, ownServer),
  }));
}

function problemOf(
  check: ConfigCheck,
  role: RedisRole,
  info: RedisInfo,
  ownServer: boolean,
): string | undefined {
  const policy = info.maxmemory_policy ?? 'unknown';
  switch (check) {
    case 'eviction_policy':
      if (role === 'state') {
        return policy === 'noeviction'
          ? undefined
          : `maxmemory-policy is "${policy}", not "noeviction": under memory pressure Redis may evict queue jobs, locks, sessions and counters. Set maxmemory-policy noeviction on the state instance (cache data may live on an evictable instance: REDIS_CACHE_URL).`;
      }
      return ownServer && policy === 'noeviction'
        ? 'maxmemory-policy is "noeviction" on the cache instance: once full it refuses cache writes (OOM) instead of evicting old entries. Set maxmemory-policy allkeys-lru (or allkeys-lfu).'
        : undefined;
    case 'aof_disabled':
      return info.aof_enabled === '1'
        ? undefined
        : 'appendonly is off on the state instance: a crash or restart loses queued jobs, sessions, locks and unflushed counters written since the last RDB snapshot. Set appendonly yes (appendfsync everysec).';
    case 'redis_version': {
      const version = info.redis_version ?? 'unknown';
      const major = Number(version.split('.')[0]);
      return Number.isFinite(major) && major >= MIN_REDIS_MAJOR
        ? undefined
        : `Redis ${version} is older than ${MIN_REDIS_MAJOR}: the app is written and tested for Redis ${MIN_REDIS_MAJOR} or later. Upgrade the server.`;
    }
    case 'maxmemory_unset':
      return !ownServer || (info.maxmemory !== undefined && info.maxmemory !== '0')
        ? undefined
        : 'maxmemory is not set on the cache instance: the cache grows until the machine runs out of memory and nothing is ever evicted. Set maxmemory (e.g. 75 % of the memory given to it) with maxmemory-policy allkeys-lru.';
  }
}
