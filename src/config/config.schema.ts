import type { RedisTopology } from '../redis';
import { accessSync, constants } from 'node:fs';
import { isIP } from 'node:net';
import { delimiter, join } from 'node:path';
/**
 * The whole environment, validated once at start-up. Every problem is collected and reported
 * together, each naming its variable, so a misconfigured deployment fails fast with one message.
 */
export type AppRole = 'all' | 'api' | 'worker';
export type HttpPlatform = 'fastify' | 'express';
export type NodeEnv = 'development' | 'production' | 'test';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export type { RedisTopology };

export interface AppConfig {
  nodeEnv: NodeEnv;
  isProduction: boolean;
  appName: string;
  appRole: AppRole;
  port: number;
  host: string;
  /** `METRICS_PORT`: serve `/metrics` on a listener of its own (same host), not on `port`; undefined: on `port`. */
  metricsPort?: number;
  httpPlatform: HttpPlatform;
  bodyLimitBytes: number;
  /** Request, headers and keep-alive timeouts of the HTTP server (slow or stalled clients are closed, 408 where possible). */
  httpTimeouts: { requestMs: number; headersMs: number; keepAliveMs: number };
  /**
   * Which proxies in front of the app are trusted to report the client address in
   * `X-Forwarded-For` (the right-most untrusted address is the client): `false` none, a number
   * of hops, or addresses/CIDRs/`loopback`/`linklocal`/`uniquelocal`. Both platforms apply it
   * the same way (proxy-addr).
   */
  trustProxy: false | number | string[];
  logLevel: LogLevel;
  /**
   * `LOG_REQUESTS`: the per-request logger (src/http/request-logger.ts: a `request completed`
   * line per request, and the request's id on every line logged while it runs). Off: neither,
   * and no AsyncLocalStorage store per request.
   */
  logRequests: boolean;
  /**
   * `LOG_REQUEST_CONTEXT` (with `LOG_REQUESTS`): the request's id (`reqId`) on the app's own lines
   * written while it runs, through nestjs-pino's AsyncLocalStorage store. Off: the request line
   * keeps its id, the app's lines have none, and no store is entered (Node 20 then runs no
   * promise hooks for it).
   */
  logRequestContext: boolean;
  metrics: {
    /** `http_request_duration_seconds` on every request (`HTTP_METRICS`). */
    httpRequests: boolean;
    /** Redis command metrics from ioredis's tracing channel (`REDIS_COMMAND_METRICS`). */
    redisCommands: boolean;
    /**
     * Each request's Redis cost on its log line (`REDIS_REQUEST_COST`, needs `redisCommands`).
     * Off by default: it needs an AsyncLocalStorage store per request, which makes Node 20 run
     * promise hooks on every promise of the process.
     */
    redisRequestCost: boolean;
  };
  dataDir: string;
  /** Redis server state read at scrape (src/ops). */
  ops: {
    /** How long a scrape waits for each Redis server's INFO before reporting it down. */
    serverMetricsTimeoutMs: number;
  };
  redis: {
    /**
     * Where the `state` role lives; `embedded` means "start a private redis-server" (development),
     * with the binary named by `REDIS_SERVER_BIN` or found on `PATH` (undefined: none was found).
     */
    state: RedisTopology | { mode: 'embedded'; binary: string | undefined };
    /** Where the `cache` role lives; `same` means "share the state topology". */
    cache: RedisTopology | { mode: 'same' };
    prefix: string;
    commandTimeoutMs: number;
    connectTimeoutMs: number;
    username?: string;
    password?: string;
    tls: boolean;
  };
  counters: {
    /** How often the worker writes pending counter increments to the database. */
    flushMs: number;
  };
  /** BullMQ queues (src/queue) and the jobs domain (src/jobs). Times in ms. */
  queue: {
    /** Jobs one worker process runs at once, per queue. */
    concurrency: number;
    /** On shutdown, how long active jobs may run before the workers are closed anyway. */
    drainTimeoutMs: number;
    /** Attempts per job (the first run included). */
    attempts: number;
    /** First retry delay; doubles per attempt, with jitter. */
    backoffMs: number;
    /** Completed jobs kept per queue (the newest). */
    keepCompleted: number;
    /** Failed jobs (dead letters) kept per queue (the newest). */
    keepFailed: number;
    /** How long an `Idempotency-Key` maps to its first job. */
    idempotencyTtlMs: number;
    /** Job lock duration; a job whose worker died is retried after at most about this long. */
    lockMs: number;
    /** Simulated work of a report job. */
    reportWorkMs: number;
  };
  /** The activity feed on Redis Streams (src/feed). Times in ms. */
  feed: {
    /** Entries kept per feed (XADD MAXLEN ~). */
    maxLen: number;
    /** Activities one fan-out consumer reads (and claims) at a time. */
    fanoutBatch: number;
    /** How long an activity stays pending with a fan-out consumer before another claims it. */
    claimIdleMs: number;
    /** Deliveries before an activity goes to the dead-letter stream. */
    maxDeliveries: number;
  };
  /** WebSocket gateway and event stream (src/realtime). */
  realtime: {
    /** Approximate length the event stream is trimmed to (`XADD … MAXLEN ~`). */
    streamMaxLen: number;
    /** Largest socket.io message a client may send; larger ones close the connection. */
    maxPayloadBytes: number;
    /** How often an open socket's credential is checked again. */
    reauthMs: number;
  };
  /** Bounds on what anonymous clients can create in the leaderboard (state role). */
  leaderboard: { maxBoards: number; maxEntries: number; idleTtlMs: number };
  /**
   * Default per-client limit on every route (`RATE_LIMIT`, e.g. `100/60s`); `RATE_LIMIT=off`
   * turns the route limiter off (`enabled: false`; limit and window keep their defaults). `mode`
   * (`RATE_LIMIT_MODE`): `exact` asks Redis on every request, `approximate` draws leases of at
   * most `maxLease` (`RATE_LIMIT_MAX_LEASE`) admissions and counts them locally.
   */
  rateLimit: {
    enabled: boolean;
    limit: number;
    windowMs: number;
    mode: 'exact' | 'approximate';
    maxLease: number;
  };
  cache: {
    /** Default fresh time of an entry. */
    defaultTtlMs: number;
    /** In-memory L1 size; 0 turns L1 off (the default: every read goes to Redis). */
    l1MaxEntries: number;
    /** Cap on how long an L1 entry lives (it never outlives the Redis entry either). */
    l1TtlMs: number;
    /** How long a tag invalidation is remembered; also the longest an entry can live. */
    tagTtlMs: number;
    /** Values whose JSON is longer than this many bytes are gzip-compressed; 0 turns compression off. */
    compressThresholdBytes: number;
    /** ioredis auto-pipelining on the cache connection (batches concurrent commands into one write). */
    autoPipelining: boolean;
  };
  database:
    | { kind: 'pglite'; dataDir: string | null }
    | { kind: 'postgres'; url: string; schema: string; connectTimeoutMs?: number };
  secrets: {
    jwtSecret: string;
    /** `SESSION_SECRET`, a comma-separated list: the first signs cookies, all verify (rotation). */
    sessionSecrets: string[];
  };
  session: {
    cookieName: string;
    sameSite: 'strict' | 'lax' | 'none';
    /** `Secure` cookie attribute: on in production. */
    secure: boolean;
    idleMs: number;
    touchMs: number;
    absoluteMs: number;
  };
  auth: {
    issuer: string;
    audience: string;
    accessTtlMs: number;
    refreshTtlMs: number;
    clockToleranceS: number;
    /** A refresh token presented again within this time after its rotation is refused without revoking its family (two concurrent refreshes). */
    refreshReuseGraceMs: number;
    /** Failed logins per account. */
    loginLimit: { limit: number; windowMs: number };
    /** Failed logins per client address. */
    loginClientLimit: { limit: number; windowMs: number };
  };
  /** Password of the seeded development users (never seeded in production). */
  seedPassword: string;
  mail: {
    /** `SMTP_URL` (smtp:// or smtps://); unset: the Redis outbox (nothing is delivered). */
    smtpUrl?: string;
    /** `MAIL_FROM`: the From address. */
    from: string;
    /** `OUTBOX_MAX`: how many messages the development outbox keeps. */
    outboxMax: number;
  };
}

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigValidationError';
  }
}

/** Development-only secret, refused in production. Long enough to pass the length rule on purpose: it is the placeholder rule that stops it. */
export const DEV_SECRET_PLACEHOLDER = 'dev-only-insecure-secret-change-me-0000000000';
const PLACEHOLDER_PATTERNS = [
  /change[-_ ]?me/i,
  /^secret$/i,
  /placeholder/i,
  /^x+$/i,
  /example/i,
  /insecure/i,
];
export const MIN_SECRET_LENGTH = 32;

/** Development password of the seeded users (README § Session and auth). */
export const DEFAULT_SEED_PASSWORD = 'redis-patterns-dev';

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): AppConfig {
  const problems: string[] = [];
  const str = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], def: T): T => {
    const v = str(name);
    if (v === undefined) return def;
    if ((allowed as readonly string[]).includes(v)) return v as T;
    problems.push(`${name} must be one of ${allowed.join(' | ')} (got "${v}")`);
    return def;
  };
  const int = (name: string, def: number, min: number, max: number): number => {
    const v = str(name);
    if (v === undefined) return def;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      problems.push(`${name} must be an integer between ${min} and ${max} (got "${v}")`);
      return def;
    }
    return Number(v);
  };
  const bool = (name: string, def: boolean): boolean => {
    const v = str(name);
    if (v === undefined) return def;
    if (/^(1|true|yes|on)$/i.test(v)) return true;
    if (/^(0|false|no|off)$/i.test(v)) return false;
    problems.push(`${name} must be true or false (got "${v}")`);
    return def;
  };
  const logRequests = bool('LOG_REQUESTS', true);
  const logRequestContext = bool('LOG_REQUEST_CONTEXT', true);
  const redisMetrics = (): AppConfig['metrics'] => {
    const httpRequests = bool('HTTP_METRICS', true);
    const redisCommands = bool('REDIS_COMMAND_METRICS', true);
    const redisRequestCost = bool('REDIS_REQUEST_COST', false);
    if (redisRequestCost && !redisCommands)
      problems.push(
        'REDIS_REQUEST_COST=true needs REDIS_COMMAND_METRICS=true (it counts the traced commands)',
      );
    if (redisRequestCost && !logRequests)
      problems.push(
        'REDIS_REQUEST_COST=true needs LOG_REQUESTS=true (the cost is written on the request log line)',
      );
    return { httpRequests, redisCommands, redisRequestCost };
  };
  const hostPorts = (name: string): { host: string; port: number }[] | undefined => {
    const v = str(name);
    if (v === undefined) return undefined;
    const out: { host: string; port: number }[] = [];
    for (const part of v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(part);
      if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
        problems.push(`${name} must be a comma-separated list of host:port (bad entry "${part}")`);
        return undefined;
      }
      out.push({ host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) });
    }
    if (out.length === 0) problems.push(`${name} is set but lists no host:port`);
    return out;
  };
  const redisUrl = (name: string): string | undefined => {
    const v = str(name);
    if (v === undefined) return undefined;
    try {
      const u = new URL(v);
      if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error('protocol');
      return v;
    } catch {
      problems.push(`${name} must be a redis:// or rediss:// URL (got "${redact(v)}")`);
      return undefined;
    }
  };

  const trustProxy = (): AppConfig['trustProxy'] => {
    const v = str('TRUST_PROXY');
    if (v === undefined || /^(0|false|no|off)$/i.test(v)) return false;
    // `true` used to mean "trust every proxy", which lets a client pick its own address by
    // sending X-Forwarded-For through a proxy that appends to it: it now means one hop.
    if (/^(true|yes|on)$/i.test(v)) return 1;
    if (/^\d+$/.test(v)) {
      if (Number(v) > 10) problems.push(`TRUST_PROXY hop count must be 0-10 (got "${v}")`);
      return Number(v);
    }
    const entries = v
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
    const bad = entries.filter((e) => !isProxyAddress(e));
    if (bad.length > 0) {
      problems.push(
        `TRUST_PROXY must be false, a hop count, or a comma-separated list of IP addresses, CIDRs, loopback, linklocal or uniquelocal (bad entry "${bad[0]}")`,
      );
      return false;
    }
    return entries;
  };

  const UNIT = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
  /** `<requests>/<window>` such as `100/60s`. */
  const limitPerWindow = (name: string, def: string): { limit: number; windowMs: number } => {
    const v = str(name) ?? def;
    const m = /^(\d{1,9})\/(\d{1,9})(ms|s|m|h)$/.exec(v);
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) {
      problems.push(
        `${name} must look like <requests>/<window><ms|s|m|h>, e.g. ${def} (got "${v}")`,
      );
      const d = /^(\d+)\/(\d+)(ms|s|m|h)$/.exec(def)!;
      return { limit: Number(d[1]), windowMs: Number(d[2]) * UNIT[d[3] as keyof typeof UNIT] };
    }
    return { limit: Number(m[1]), windowMs: Number(m[2]) * UNIT[m[3] as keyof typeof UNIT] };
  };
  const rateLimit = (): AppConfig['rateLimit'] => {
    const mode = oneOf<'exact' | 'approximate'>(
      'RATE_LIMIT_MODE',
      ['exact', 'approximate'],
      'exact',
    );
    const maxLease = int('RATE_LIMIT_MAX_LEASE', 100, 1, 1_000_000);
    // `off` turns the route limiter off (benchmarks, or a gateway that limits instead).
    if (/^(off|false)$/i.test(str('RATE_LIMIT') ?? ''))
      return { enabled: false, limit: 100, windowMs: 60_000, mode, maxLease };
    return { enabled: true, ...limitPerWindow('RATE_LIMIT', '100/60s'), mode, maxLease };
  };
  /** A duration: milliseconds, or a number with ms, s, m, h or d (`15m`, `7d`). */
  const duration = (name: string, defMs: number, minMs: number, maxMs: number): number => {
    const v = str(name);
    if (v === undefined) return defMs;
    const m = /^(\d{1,12})(ms|s|m|h|d)?$/.exec(v);
    const ms = m ? Number(m[1]) * UNIT[(m[2] ?? 'ms') as keyof typeof UNIT] : NaN;
    if (!m || ms < minMs || ms > maxMs) {
      problems.push(
        `${name} must be a duration between ${minMs} ms and ${maxMs} ms: milliseconds, or a number with ms, s, m, h or d (got "${v}")`,
      );
      return defMs;
    }
    return ms;
  };

  const nodeEnv = oneOf<NodeEnv>('NODE_ENV', ['development', 'production', 'test'], 'development');
  const isProduction = nodeEnv === 'production';
  const appName = str('APP_NAME') ?? 'nrp';
  const prefix = str('REDIS_PREFIX') ?? appName;
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(prefix)) {
    problems.push(
      `REDIS_PREFIX must be 1-64 characters of letters, digits, "_", "-" or "." (got "${prefix}")`,
    );
  }

  // Redis topology: cluster > sentinel > URL > embedded (development only).
  const url = redisUrl('REDIS_URL');
  const clusterNodes = hostPorts('REDIS_CLUSTER_NODES');
  const sentinels = hostPorts('REDIS_SENTINELS');
  const sentinelName = str('REDIS_SENTINEL_NAME');
  let state: AppConfig['redis']['state'];
  if (clusterNodes && sentinels) {
    problems.push('REDIS_CLUSTER_NODES and REDIS_SENTINELS are both set: choose one topology');
  }
  if (clusterNodes) {
    state = { mode: 'cluster', nodes: clusterNodes, url };
  } else if (sentinels) {
    if (!sentinelName)
      problems.push(
        'REDIS_SENTINEL_NAME is required when REDIS_SENTINELS is set (the monitored master name)',
      );
    state = { mode: 'sentinel', sentinels, name: sentinelName ?? 'mymaster', url };
  } else if (url) {
    state = { mode: 'standalone', url };
  } else {
    if (isProduction) {
      problems.push(
        'REDIS_URL is required in production (or REDIS_CLUSTER_NODES, or REDIS_SENTINELS + REDIS_SENTINEL_NAME); the embedded redis-server is for development only',
      );
    }
    const bin = str('REDIS_SERVER_BIN');
    state = { mode: 'embedded', binary: bin ?? findOnPath('redis-server', env.PATH ?? '') };
  }
  const cacheUrl = redisUrl('REDIS_CACHE_URL');
  const cache: AppConfig['redis']['cache'] = cacheUrl
    ? { mode: 'standalone', url: cacheUrl }
    : { mode: 'same' };

  // Database.
  const dbUrl = str('DATABASE_URL');
  const dataDir = str('DATA_DIR') ?? '.data';
  let database: AppConfig['database'];
  if (dbUrl === undefined) {
    database = { kind: 'pglite', dataDir: `${dataDir}/pglite` };
  } else if (dbUrl === 'memory://') {
    database = { kind: 'pglite', dataDir: null };
  } else if (/^postgres(ql)?:\/\//.test(dbUrl)) {
    const schema = str('DATABASE_SCHEMA') ?? 'public';
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
      problems.push(`DATABASE_SCHEMA must be a lower-case SQL identifier (got "${schema}")`);
    }
    database = { kind: 'postgres', url: dbUrl, schema };
  } else {
    problems.push(
      'DATABASE_URL must be a postgres:// or postgresql:// URL, or memory:// for an in-memory PGlite',
    );
    database = { kind: 'pglite', dataDir: null };
  }

  const httpTimeouts = (): AppConfig['httpTimeouts'] => {
    const requestMs = int('HTTP_REQUEST_TIMEOUT_MS', 30_000, 1000, 3_600_000);
    const headersMs = int('HTTP_HEADERS_TIMEOUT_MS', Math.min(10_000, requestMs), 1000, 3_600_000);
    const keepAliveMs = int('HTTP_KEEP_ALIVE_TIMEOUT_MS', 5_000, 1000, 3_600_000);
    if (headersMs > requestMs) {
      problems.push(
        `HTTP_HEADERS_TIMEOUT_MS (${headersMs}) must not be longer than HTTP_REQUEST_TIMEOUT_MS (${requestMs})`,
      );
    }
    return { requestMs, headersMs, keepAliveMs };
  };

  // Secrets: development gets an obvious placeholder; production refuses missing, short,
  // placeholder or weak ones, naming the variable.
  const checkSecret = (label: string, v: string): void => {
    const fix = 'generate a random one, e.g. `openssl rand -base64 48`';
    if (v.length < MIN_SECRET_LENGTH) {
      problems.push(
        `${label} is too short (${v.length} characters): use at least ${MIN_SECRET_LENGTH} random characters`,
      );
    } else if (PLACEHOLDER_PATTERNS.some((p) => p.test(v))) {
      problems.push(`${label} looks like a placeholder: ${fix}`);
    } else {
      const weak = weakSecretReason(v);
      if (weak) problems.push(`${label} is too weak (${weak}): ${fix}`);
    }
  };
  const required = (name: string): void =>
    void problems.push(
      `${name} is required in production (a random string of at least ${MIN_SECRET_LENGTH} characters, e.g. \`openssl rand -base64 48\`)`,
    );
  const secret = (name: string): string => {
    const v = str(name);
    if (!isProduction) return v ?? DEV_SECRET_PLACEHOLDER;
    if (v === undefined) required(name);
    else checkSecret(name, v);
    return v ?? '';
  };
  /** A comma-separated list of secrets (the first is current, the rest still verify), each checked. */
  const secretList = (name: string): string[] => {
    const list = (str(name) ?? '')
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean);
    if (!isProduction) return list.length > 0 ? list : [DEV_SECRET_PLACEHOLDER];
    if (list.length === 0) required(name);
    list.forEach((v, i) => checkSecret(list.length > 1 ? `${name} (entry ${i + 1})` : name, v));
    return list;
  };
  const smtpUrl = (): string | undefined => {
    const v = str('SMTP_URL');
    if (v === undefined) return undefined;
    try {
      const u = new URL(v);
      if ((u.protocol !== 'smtp:' && u.protocol !== 'smtps:') || !u.hostname)
        throw new Error('protocol');
      return v;
    } catch {
      problems.push(
        `SMTP_URL must be an smtp:// or smtps:// URL, e.g. smtp://user:pass@smtp.example.com:587 (got "${redact(v)}")`,
      );
      return undefined;
    }
  };
  const mailFrom = (): string => {
    const v = str('MAIL_FROM') ?? 'no-reply@localhost';
    // `user@host` or `Name <user@host>`, ASCII, no line breaks (a header value).
    if (
      !/^(?:[ -;=?-~]{1,64} )?<?[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9.-]{1,253}>?$/.test(
        v,
      )
    ) {
      problems.push(
        `MAIL_FROM must be an e-mail address, optionally with a display name: no-reply@example.com or "Example <no-reply@example.com>" (got "${v}")`,
      );
      return 'no-reply@localhost';
    }
    return v;
  };
  const cookieName = (): string => {
    const v = str('SESSION_COOKIE_NAME') ?? 'sid';
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/.test(v)) {
      problems.push(
        `SESSION_COOKIE_NAME must be a cookie name token of 1-64 characters (got "${v}")`,
      );
      return 'sid';
    }
    return v;
  };

  const metricsPort = (): number | undefined => {
    if (str('METRICS_PORT') === undefined) return undefined;
    return int('METRICS_PORT', 0, 0, 65535);
  };

  const config: AppConfig = {
    nodeEnv,
    isProduction,
    appName,
    appRole: oneOf<AppRole>('APP_ROLE', ['all', 'api', 'worker'], 'all'),
    port: int('PORT', 3000, 0, 65535),
    host: str('HOST') ?? (isProduction ? '0.0.0.0' : '127.0.0.1'),
    metricsPort: metricsPort(),
    httpPlatform: oneOf<HttpPlatform>('HTTP_PLATFORM', ['fastify', 'express'], 'fastify'),
    bodyLimitBytes: int('HTTP_BODY_LIMIT', 100 * 1024, 1024, 50 * 1024 * 1024),
    httpTimeouts: httpTimeouts(),
    trustProxy: trustProxy(),
    logLevel: oneOf<LogLevel>(
      'LOG_LEVEL',
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      nodeEnv === 'test' ? 'warn' : 'info',
    ),
    logRequests,
    logRequestContext,
    metrics: redisMetrics(),
    dataDir,
    ops: {
      serverMetricsTimeoutMs: int('REDIS_SERVER_METRICS_TIMEOUT_MS', 500, 10, 10_000),
    },
    redis: {
      state,
      cache,
      prefix,
      commandTimeoutMs: int('REDIS_COMMAND_TIMEOUT_MS', 2000, 10, 60_000),
      connectTimeoutMs: int('REDIS_CONNECT_TIMEOUT_MS', 5000, 100, 60_000),
      username: str('REDIS_USERNAME'),
      password: str('REDIS_PASSWORD'),
      tls: bool('REDIS_TLS', false),
    },
    rateLimit: rateLimit(),
    counters: { flushMs: int('COUNTER_FLUSH_MS', 5_000, 50, 3_600_000) },
    queue: {
      concurrency: int('QUEUE_CONCURRENCY', 10, 1, 1000),
      drainTimeoutMs: duration('QUEUE_DRAIN_TIMEOUT_MS', 10_000, 0, 600_000),
      attempts: int('QUEUE_ATTEMPTS', 3, 1, 100),
      backoffMs: duration('QUEUE_BACKOFF_MS', 2_000, 1, 3_600_000),
      keepCompleted: int('QUEUE_KEEP_COMPLETED', 1_000, 0, 1_000_000),
      keepFailed: int('QUEUE_KEEP_FAILED', 10_000, 1, 1_000_000),
      idempotencyTtlMs: duration('QUEUE_IDEMPOTENCY_TTL_MS', 86_400_000, 1000, 30 * 86_400_000),
      lockMs: duration('QUEUE_LOCK_MS', 30_000, 1000, 600_000),
      reportWorkMs: duration('REPORT_JOB_WORK_MS', 1000, 0, 600_000),
    },
    feed: {
      maxLen: int('FEED_MAXLEN', 1_000, 1, 1_000_000),
      fanoutBatch: int('FEED_FANOUT_BATCH', 100, 1, 10_000),
      claimIdleMs: duration('FEED_CLAIM_IDLE_MS', 30_000, 100, 3_600_000),
      maxDeliveries: int('FEED_MAX_DELIVERIES', 5, 1, 1_000),
    },
    realtime: {
      streamMaxLen: int('REALTIME_STREAM_MAXLEN', 10_000, 100, 10_000_000),
      maxPayloadBytes: int('REALTIME_MAX_PAYLOAD_BYTES', 16 * 1024, 1024, 10 * 1024 * 1024),
      reauthMs: duration('REALTIME_REAUTH_MS', 60_000, 1_000, 86_400_000),
    },
    leaderboard: {
      maxBoards: int('LEADERBOARD_MAX_BOARDS', 1_000, 1, 1_000_000),
      maxEntries: int('LEADERBOARD_MAX_ENTRIES', 10_000, 1, 10_000_000),
      idleTtlMs: int('LEADERBOARD_IDLE_TTL_MS', 30 * 86_400_000, 60_000, 3_650 * 86_400_000),
    },
    cache: {
      defaultTtlMs: int('CACHE_DEFAULT_TTL_MS', 60_000, 1, 30 * 86_400_000),
      l1MaxEntries: int('CACHE_L1_MAX_ENTRIES', 0, 0, 10_000_000),
      l1TtlMs: int('CACHE_L1_TTL_MS', 5_000, 1, 86_400_000),
      tagTtlMs: int('CACHE_TAG_TTL_MS', 7 * 86_400_000, 60_000, 365 * 86_400_000),
      compressThresholdBytes: int('CACHE_COMPRESS_THRESHOLD_BYTES', 0, 0, 1024 * 1024 * 1024),
      autoPipelining: bool('CACHE_AUTO_PIPELINING', true),
    },
    database,
    secrets: { jwtSecret: secret('JWT_SECRET'), sessionSecrets: secretList('SESSION_SECRET') },
    session: {
      cookieName: cookieName(),
      sameSite: oneOf('SESSION_SAME_SITE', ['strict', 'lax', 'none'] as const, 'strict'),
      secure: bool('SESSION_SECURE_COOKIE', isProduction),
      idleMs: duration('SESSION_IDLE_MS', 24 * 3_600_000, 1000, 365 * 86_400_000),
      touchMs: duration('SESSION_TOUCH_MS', 60_000, 0, 86_400_000),
      absoluteMs: duration('SESSION_ABSOLUTE_MS', 7 * 86_400_000, 1000, 3650 * 86_400_000),
    },
    auth: {
      issuer: str('JWT_ISSUER') ?? appName,
      audience: str('JWT_AUDIENCE') ?? `${appName}-api`,
      accessTtlMs: duration('JWT_ACCESS_TTL', 15 * 60_000, 1000, 86_400_000),
      refreshTtlMs: duration('JWT_REFRESH_TTL', 30 * 86_400_000, 60_000, 3650 * 86_400_000),
      clockToleranceS: int('JWT_CLOCK_TOLERANCE_S', 5, 0, 300),
      refreshReuseGraceMs: duration('AUTH_REFRESH_REUSE_GRACE_MS', 10_000, 0, 300_000),
      loginLimit: limitPerWindow('AUTH_LOGIN_LIMIT', '5/15m'),
      loginClientLimit: limitPerWindow('AUTH_LOGIN_CLIENT_LIMIT', '30/15m'),
    },
    seedPassword: str('SEED_PASSWORD') ?? DEFAULT_SEED_PASSWORD,
    mail: {
      smtpUrl: smtpUrl(),
      from: mailFrom(),
      outboxMax: int('OUTBOX_MAX', 1000, 1, 1_000_000),
    },
  };
  if (
    config.metricsPort !== undefined &&
    config.metricsPort !== 0 &&
    config.metricsPort === config.port
  ) {
    problems.push(
      `METRICS_PORT must differ from PORT (both ${config.port}); unset it to serve /metrics on PORT`,
    );
  }
  if (
    isProduction &&
    config.secrets.jwtSecret &&
    config.secrets.sessionSecrets.includes(config.secrets.jwtSecret)
  ) {
    problems.push(
      'JWT_SECRET and SESSION_SECRET are the same: each must be its own random value (a leak of one must not expose the other)',
    );
  }
  if (problems.length > 0) throw new ConfigValidationError(problems);
  return config;
}

/** An IPv4/IPv6 address or CIDR, or one of proxy-addr's names. */
function isProxyAddress(entry: string): boolean {
  if (/^(loopback|linklocal|uniquelocal)$/.test(entry)) return true;
  const [addr, bits, ...rest] = entry.split('/');
  if (rest.length > 0) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/** Bits of entropy a secret must carry, estimated from its characters (a random 32-character base64 string has ~190). */
export const MIN_SECRET_BITS = 128;

/** Words that make a secret guessable when they make up much of it. */
const DICTIONARY = [
  'password',
  'passwd',
  'secret',
  'admin',
  'qwerty',
  'letmein',
  'welcome',
  'default',
  'changeme',
  'token',
  'session',
  'master',
  'dragon',
  'monkey',
  'iloveyou',
  'trustno',
  'abc123',
  'login',
  'access',
  'private',
  'jwtsecret',
  'sessionsecret',
  'example',
  'test',
];

/** Runs of consecutive characters (abcd…, 1234…, 9876…, qwerty rows) at least this long. */
const SEQUENCE_RUN = 5;
const KEYBOARD_ROWS = ['qwertyuiop', 'asdfghjkl', 'zxcvbnm', '1234567890'];

/**
 * Why a production secret is too weak to sign tokens and cookies, or undefined. Refused: a single
 * character class, a repeated pattern, a long run of sequential or keyboard-row characters, a
 * dictionary word making up a quarter of it or more, and fewer than {@link MIN_SECRET_BITS} bits
 * of entropy estimated from its character frequencies (after removing those words).
 */
export function weakSecretReason(secret: string): string | undefined {
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((r) => r.test(secret)).length;
  if (classes < 2) return 'it uses a single character class';
  for (let period = 1; period <= secret.length / 2; period++) {
    if (
      secret.length % period === 0 &&
      secret.slice(0, period).repeat(secret.length / period) === secret
    )
      return 'it is one short pattern repeated';
  }
  const lower = secret.toLowerCase();
  let run = 1;
  for (let i = 1; i < lower.length; i++) {
    const step = lower.charCodeAt(i) - lower.charCodeAt(i - 1);
    const prevStep = i > 1 ? lower.charCodeAt(i - 1) - lower.charCodeAt(i - 2) : step;
    run = Math.abs(step) === 1 && step === prevStep ? run + 1 : Math.abs(step) === 1 ? 2 : 1;
    if (run >= SEQUENCE_RUN) return 'it contains a run of sequential characters';
  }
  for (const row of KEYBOARD_ROWS) {
    for (let i = 0; i + SEQUENCE_RUN <= row.length; i++) {
      if (lower.includes(row.slice(i, i + SEQUENCE_RUN))) return 'it contains a keyboard sequence';
    }
  }
  let rest = lower;
  for (const word of DICTIONARY) rest = rest.split(word).join('');
  if (rest.length <= lower.length * 0.75) return 'it is made of dictionary words';
  if (entropyBits(rest) < MIN_SECRET_BITS)
    return `about ${Math.round(entropyBits(rest))} bits of entropy, at least ${MIN_SECRET_BITS} needed`;
  return undefined;
}

/** Shannon entropy of the character distribution × length: an upper bound of what the secret can carry. */
function entropyBits(s: string): number {
  if (s.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) perChar -= (n / s.length) * Math.log2(n / s.length);
  return perChar * s.length;
}

/** Hide the password of a URL before it reaches a log line or an error message. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
  }
}

/** The first executable `binary` in a `PATH`-style list of folders, or undefined. */
export function findOnPath(binary: string, pathList: string): string | undefined {
  for (const dir of pathList.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
