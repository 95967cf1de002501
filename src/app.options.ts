import type { AuthModuleOptions, AuthService, UserDirectory } from './auth';
import type { CacheModuleOptions } from './cache';
import type { AppConfig } from './config';
import type { DatabaseModuleOptions } from './database';
import type { FeedModuleOptions, FeedPublisher } from './feed';
import type { MailModuleOptions } from './mail';
import type { MetricsModuleOptions } from './metrics';
import type { OpsModuleOptions } from './ops';
import type { JobsModuleOptions } from './jobs';
import type { QueueModuleOptions } from './queue';
import type { RateLimitModuleOptions } from './rate-limit';
import type { RealtimeModuleOptions } from './realtime';
import type { RedisModuleOptions } from './redis';
import type { SessionModuleOptions } from './session';

/**
 * The composition root's half of configuration: the validated environment (`AppConfig`) mapped
 * onto each module's own options. Modules never read the environment or `AppConfig`; a Nest
 * team importing one into its own app passes these options directly.
 */
export function redisOptions(config: AppConfig): RedisModuleOptions {
  const r = config.redis;
  if (r.state.mode === 'embedded') {
    throw new Error(
      'The embedded redis-server was not started: start the app through src/main.ts or src/worker.ts, or set REDIS_URL',
    );
  }
  return {
    prefix: r.prefix,
    state: {
      topology: r.state,
      username: r.username,
      password: r.password,
      tls: r.tls,
      commandTimeoutMs: r.commandTimeoutMs,
      connectTimeoutMs: r.connectTimeoutMs,
      // Batches concurrent commands into one write: sessions, token checks and rate limits run on
      // nearly every request (measured in bench:auth).
      autoPipelining: true,
    },
    cache: {
      ...(r.cache.mode === 'same' ? {} : { topology: r.cache }),
      // The cache is read on nearly every request: auto-pipelining batches concurrent
      // commands into one write, cutting Redis CPU several times under load.
      autoPipelining: config.cache.autoPipelining,
    },
  };
}

/**
 * The HTTP histogram, Redis command metrics and each request's Redis cost on or off; `/metrics` on `PORT`, or on `METRICS_PORT` alone (same `HOST`).
 */
export function metricsOptions(config: AppConfig): MetricsModuleOptions {
  const listener =
    config.metricsPort === undefined ? {} : { port: config.metricsPort, host: config.host };
  return {
    httpRequests: config.metrics.httpRequests,
    redisCommands: config.metrics.redisCommands,
    redisRequestCost: config.metrics.redisRequestCost,
    ...listener,
  };
}

/** Redis server state at scrape and the start-up checks (the admin endpoints are per role). */
export function opsOptions(config: AppConfig): OpsModuleOptions {
  return { serverMetricsTimeoutMs: config.ops.serverMetricsTimeoutMs };
}

export function databaseOptions(config: AppConfig): DatabaseModuleOptions {
  return { connection: config.database, seedDemoData: !config.isProduction };
}

export function cacheOptions(config: AppConfig): CacheModuleOptions {
  const c = config.cache;
  return {
    defaultTtlMs: c.defaultTtlMs,
    l1: { maxEntries: c.l1MaxEntries, ttlMs: c.l1TtlMs },
    tagTtlMs: c.tagTtlMs,
    compressThresholdBytes: c.compressThresholdBytes,
  };
}

export function rateLimitOptions(config: AppConfig): RateLimitModuleOptions {
  const { enabled, limit, windowMs, mode, maxLease } = config.rateLimit;
  return { enabled, limit, windowMs, mode, maxLease };
}

export function sessionOptions(config: AppConfig): SessionModuleOptions {
  return { secrets: config.secrets.sessionSecrets, ...config.session };
}

export function authOptions(config: AppConfig, directory: UserDirectory): AuthModuleOptions {
  const a = config.auth;
  return {
    directory,
    jwt: {
      secret: config.secrets.jwtSecret,
      issuer: a.issuer,
      audience: a.audience,
      accessTtlMs: a.accessTtlMs,
      clockToleranceS: a.clockToleranceS,
    },
    refreshTtlMs: a.refreshTtlMs,
    refreshReuseGraceMs: a.refreshReuseGraceMs,
    loginLimit: a.loginLimit,
    loginClientLimit: a.loginClientLimit,
  };
}

/**
 * Mail: SMTP when `SMTP_URL` is set, else the Redis outbox. Production without SMTP_URL is
 * accepted (a deployment may not send mail yet) with a warning at start: nothing is delivered.
 */
export function mailOptions(config: AppConfig): MailModuleOptions {
  return {
    smtpUrl: config.mail.smtpUrl,
    from: config.mail.from,
    outboxMax: config.mail.outboxMax,
    warnWithoutSmtp: config.isProduction,
  };
}

/** Queues on the state role; processors (BullMQ workers) only in the worker and all roles. */
export function queueOptions(config: AppConfig, processors: boolean): QueueModuleOptions {
  const q = config.queue;
  return {
    prefix: config.redis.prefix,
    processors,
    concurrency: q.concurrency,
    drainTimeoutMs: q.drainTimeoutMs,
    attempts: q.attempts,
    backoffMs: q.backoffMs,
    keepCompleted: q.keepCompleted,
    keepFailed: q.keepFailed,
    idempotencyTtlMs: q.idempotencyTtlMs,
    lockDurationMs: q.lockMs,
    // Stalled jobs (a killed worker's) are looked for as often as a lock lasts.
    stalledIntervalMs: q.lockMs,
  };
}

export function jobsOptions(config: AppConfig): JobsModuleOptions {
  return { reportWorkMs: config.queue.reportWorkMs };
}

/**
 * The activity feed: the fan-out consumer runs in the worker and all roles. `followersOf` comes
 * from the followers domain; `publisher` (optional) pushes new entries to sockets.
 */
export function feedOptions(
  config: AppConfig,
  fanout: boolean,
  followersOf: (userId: number) => Promise<number[]>,
  publisher?: FeedPublisher,
): FeedModuleOptions {
  const f = config.feed;
  return {
    followersOf,
    fanout,
    maxLen: f.maxLen,
    batch: f.fanoutBatch,
    claimIdleMs: f.claimIdleMs,
    maxDeliveries: f.maxDeliveries,
    publisher,
  };
}

/**
 * Realtime: the event stream and, where `auth` is given (API role), the gateway's handshake
 * authentication through AuthService (a session cookie or `auth.token`).
 */
export function realtimeOptions(config: AppConfig, auth?: AuthService): RealtimeModuleOptions {
  const r = config.realtime;
  return {
    prefix: config.redis.prefix,
    streamMaxLen: r.streamMaxLen,
    maxPayloadBytes: r.maxPayloadBytes,
    reauthMs: r.reauthMs,
    ...(auth
      ? {
          authenticate: async (credentials) => {
            const who = await auth.authenticateHandshake(credentials);
            return {
              userId: who.id,
              ...(who.sessionId ? { sessionId: who.sessionId } : {}),
              ...(who.jti ? { tokenId: who.jti } : {}),
              ...(who.family ? { family: who.family } : {}),
              ...(who.exp ? { expiresAt: who.exp * 1000 } : {}),
            };
          },
        }
      : {}),
  };
}
