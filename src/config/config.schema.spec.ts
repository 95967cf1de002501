import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ConfigValidationError, DEV_SECRET_PLACEHOLDER, loadConfig } from './config.schema';

const prodSecrets = {
  JWT_SECRET: 'q7Zr0yV3m9Xk2Lp8Wc4Tn6Bd1Hs5Fg0Je',
  SESSION_SECRET: 'Ua8Ys2Kd7Pw3Ne9Rv1Cx5Mb4Qt6Lh0Zj',
};

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigValidationError) return err.problems;
    throw err;
  }
  return [];
}

describe('loadConfig', () => {
  it('gives development defaults with no environment: embedded Redis, PGlite under .data, Fastify on 3000', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      nodeEnv: 'development',
      appRole: 'all',
      port: 3000,
      httpPlatform: 'fastify',
      redis: {
        state: { mode: 'embedded' },
        cache: { mode: 'same' },
        prefix: 'nrp',
        commandTimeoutMs: 2000,
      },
      database: { kind: 'pglite', dataDir: '.data/pglite' },
    });
    expect(c.secrets.jwtSecret).toBe(DEV_SECRET_PLACEHOLDER);
  });

  it('finds the embedded redis-server on PATH, or takes REDIS_SERVER_BIN, never its own process.env', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-bin-'));
    const bin = join(dir, 'redis-server');
    writeFileSync(bin, '#!/bin/sh\n');
    chmodSync(bin, 0o755);
    const embedded = (env: Record<string, string>) => loadConfig(env).redis.state;
    expect(embedded({ PATH: `/nonexistent${delimiter}${dir}` })).toEqual({
      mode: 'embedded',
      binary: bin,
    });
    expect(embedded({ PATH: '/nonexistent' })).toEqual({ mode: 'embedded', binary: undefined });
    expect(embedded({})).toEqual({ mode: 'embedded', binary: undefined });
    expect(embedded({ PATH: dir, REDIS_SERVER_BIN: '/opt/redis/bin/redis-server' })).toEqual({
      mode: 'embedded',
      binary: '/opt/redis/bin/redis-server',
    });
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads METRICS_PORT and the server-metrics timeout: unset by default, refused when equal to PORT or out of bounds', () => {
    expect(loadConfig({}).metricsPort).toBeUndefined();
    expect(loadConfig({}).ops.serverMetricsTimeoutMs).toBe(500);
    expect(loadConfig({ METRICS_PORT: '9464' }).metricsPort).toBe(9464);
    expect(loadConfig({ METRICS_PORT: '0', PORT: '0' }).metricsPort).toBe(0);
    expect(problems({ METRICS_PORT: '3000' })).toEqual([
      'METRICS_PORT must differ from PORT (both 3000); unset it to serve /metrics on PORT',
    ]);
    expect(problems({ METRICS_PORT: '70000' })[0]).toMatch(/^METRICS_PORT must be an integer/);
    expect(problems({ REDIS_SERVER_METRICS_TIMEOUT_MS: '5' })[0]).toMatch(
      /^REDIS_SERVER_METRICS_TIMEOUT_MS must be an integer between 10 and 10000/,
    );
  });

  it('reads the rate limit: 100/60s exact by default; the approximate mode and its lease bound', () => {
    expect(loadConfig({}).rateLimit).toEqual({
      enabled: true,
      limit: 100,
      windowMs: 60_000,
      mode: 'exact',
      maxLease: 100,
    });
    expect(
      loadConfig({
        RATE_LIMIT: '5000/1m',
        RATE_LIMIT_MODE: 'approximate',
        RATE_LIMIT_MAX_LEASE: '20',
      }).rateLimit,
    ).toEqual({ enabled: true, limit: 5000, windowMs: 60_000, mode: 'approximate', maxLease: 20 });
    expect(problems({ RATE_LIMIT_MODE: 'fast' })[0]).toMatch(/^RATE_LIMIT_MODE must be/);
    expect(problems({ RATE_LIMIT_MAX_LEASE: '0' })[0]).toMatch(/^RATE_LIMIT_MAX_LEASE must be/);
  });

  it('reads the Redis command metrics switches: metrics on and per-request cost off by default; cost needs the metrics', () => {
    expect(loadConfig({}).metrics).toEqual({
      httpRequests: true,
      redisCommands: true,
      redisRequestCost: false,
    });
    expect(loadConfig({ REDIS_REQUEST_COST: 'true' }).metrics).toEqual({
      httpRequests: true,
      redisCommands: true,
      redisRequestCost: true,
    });
    expect(loadConfig({ REDIS_COMMAND_METRICS: 'false' }).metrics).toEqual({
      httpRequests: true,
      redisCommands: false,
      redisRequestCost: false,
    });
    expect(problems({ REDIS_COMMAND_METRICS: 'false', REDIS_REQUEST_COST: 'true' })).toEqual([
      'REDIS_REQUEST_COST=true needs REDIS_COMMAND_METRICS=true (it counts the traced commands)',
    ]);
    expect(problems({ REDIS_REQUEST_COST: 'maybe' })[0]).toMatch(/^REDIS_REQUEST_COST must be/);
  });

  it('reads the per-request switches: HTTP metrics and the request logger on by default, each can be turned off', () => {
    const c = loadConfig({});
    expect(c.metrics.httpRequests).toBe(true);
    expect(c.logRequests).toBe(true);
    expect(loadConfig({ HTTP_METRICS: 'false' }).metrics.httpRequests).toBe(false);
    expect(loadConfig({ LOG_REQUESTS: 'false' }).logRequests).toBe(false);
    expect(c.logRequestContext).toBe(true);
    expect(loadConfig({ LOG_REQUEST_CONTEXT: 'false' }).logRequestContext).toBe(false);
    expect(problems({ LOG_REQUEST_CONTEXT: 'perhaps' })[0]).toMatch(/^LOG_REQUEST_CONTEXT must be/);
    expect(problems({ LOG_REQUESTS: 'false', REDIS_REQUEST_COST: 'true' })).toEqual([
      'REDIS_REQUEST_COST=true needs LOG_REQUESTS=true (the cost is written on the request log line)',
    ]);
    expect(problems({ HTTP_METRICS: 'sometimes' })[0]).toMatch(/^HTTP_METRICS must be/);
    expect(problems({ LOG_REQUESTS: '2' })[0]).toMatch(/^LOG_REQUESTS must be/);
  });

  it('reads RATE_LIMIT: 100/60s by default, a limit per window, or off', () => {
    expect(loadConfig({}).rateLimit).toMatchObject({ enabled: true, limit: 100, windowMs: 60_000 });
    expect(loadConfig({ RATE_LIMIT: '100000000/60s' }).rateLimit).toMatchObject({
      enabled: true,
      limit: 100_000_000,
      windowMs: 60_000,
    });
    expect(loadConfig({ RATE_LIMIT: '5/2m' }).rateLimit).toMatchObject({
      enabled: true,
      limit: 5,
      windowMs: 120_000,
    });
    expect(loadConfig({ RATE_LIMIT: 'off' }).rateLimit.enabled).toBe(false);
    expect(loadConfig({ RATE_LIMIT: 'OFF' }).rateLimit.enabled).toBe(false);
    expect(problems({ RATE_LIMIT: '0/60s' })[0]).toMatch(/^RATE_LIMIT must look like/);
    expect(problems({ RATE_LIMIT: 'none' })[0]).toMatch(/^RATE_LIMIT must look like/);
  });

  it('reads Redis topologies: URL, separate cache URL, Cluster nodes, Sentinel', () => {
    expect(
      loadConfig({ REDIS_URL: 'redis://r:6380/2', REDIS_CACHE_URL: 'redis://c:6379' }).redis,
    ).toMatchObject({
      state: { mode: 'standalone', url: 'redis://r:6380/2' },
      cache: { mode: 'standalone', url: 'redis://c:6379' },
    });
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'a:7000, b:7001,[::1]:7002' }).redis.state).toEqual({
      mode: 'cluster',
      nodes: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      url: undefined,
    });
    expect(
      loadConfig({ REDIS_SENTINELS: 's1:26379,s2:26379', REDIS_SENTINEL_NAME: 'main' }).redis.state,
    ).toMatchObject({
      mode: 'sentinel',
      name: 'main',
    });
  });

  it('reads the queue settings: defaults, durations with units, and each bad value named', () => {
    expect(loadConfig({}).queue).toEqual({
      concurrency: 10,
      drainTimeoutMs: 10_000,
      attempts: 3,
      backoffMs: 2_000,
      keepCompleted: 1_000,
      keepFailed: 10_000,
      idempotencyTtlMs: 86_400_000,
      lockMs: 30_000,
      reportWorkMs: 1_000,
    });
    expect(
      loadConfig({
        QUEUE_CONCURRENCY: '50',
        QUEUE_DRAIN_TIMEOUT_MS: '30s',
        QUEUE_BACKOFF_MS: '500',
        QUEUE_IDEMPOTENCY_TTL_MS: '1h',
        QUEUE_LOCK_MS: '5s',
        REPORT_JOB_WORK_MS: '0',
      }).queue,
    ).toMatchObject({
      concurrency: 50,
      drainTimeoutMs: 30_000,
      backoffMs: 500,
      idempotencyTtlMs: 3_600_000,
      lockMs: 5_000,
      reportWorkMs: 0,
    });
    const p = problems({
      QUEUE_CONCURRENCY: '0',
      QUEUE_ATTEMPTS: 'three',
      QUEUE_BACKOFF_MS: '0',
      QUEUE_KEEP_FAILED: '0',
      QUEUE_LOCK_MS: '10',
      REPORT_JOB_WORK_MS: '-1',
    }).join('\n');
    expect(p).toMatch(/QUEUE_CONCURRENCY must be an integer between 1 and 1000 \(got "0"\)/);
    expect(p).toMatch(/QUEUE_ATTEMPTS must be an integer between 1 and 100/);
    expect(p).toMatch(/QUEUE_BACKOFF_MS must be a duration between 1 ms/);
    expect(p).toMatch(/QUEUE_KEEP_FAILED must be an integer between 1/);
    expect(p).toMatch(/QUEUE_LOCK_MS must be a duration between 1000 ms/);
    expect(p).toMatch(/REPORT_JOB_WORK_MS must be a duration/);
  });

  it('reads the feed settings with their defaults and bounds', () => {
    expect(loadConfig({}).feed).toEqual({
      maxLen: 1000,
      fanoutBatch: 100,
      claimIdleMs: 30_000,
      maxDeliveries: 5,
    });
    expect(
      loadConfig({
        FEED_MAXLEN: '500',
        FEED_FANOUT_BATCH: '10',
        FEED_CLAIM_IDLE_MS: '2s',
        FEED_MAX_DELIVERIES: '3',
      }).feed,
    ).toEqual({ maxLen: 500, fanoutBatch: 10, claimIdleMs: 2_000, maxDeliveries: 3 });
    const p = problems({
      FEED_MAXLEN: '0',
      FEED_FANOUT_BATCH: 'many',
      FEED_CLAIM_IDLE_MS: '5',
      FEED_MAX_DELIVERIES: '0',
    }).join('\n');
    expect(p).toMatch(/FEED_MAXLEN must be an integer between 1 and/);
    expect(p).toMatch(/FEED_FANOUT_BATCH must be an integer between 1 and/);
    expect(p).toMatch(/FEED_CLAIM_IDLE_MS must be a duration between 100 ms/);
    expect(p).toMatch(/FEED_MAX_DELIVERIES must be an integer between 1 and/);
  });

  it('reads the realtime settings: defaults, durations with units, and each bad value named', () => {
    expect(loadConfig({}).realtime).toEqual({
      streamMaxLen: 10_000,
      maxPayloadBytes: 16_384,
      reauthMs: 60_000,
    });
    expect(
      loadConfig({
        REALTIME_STREAM_MAXLEN: '500',
        REALTIME_MAX_PAYLOAD_BYTES: '2048',
        REALTIME_REAUTH_MS: '5m',
      }).realtime,
    ).toEqual({ streamMaxLen: 500, maxPayloadBytes: 2048, reauthMs: 300_000 });
    const p = problems({
      REALTIME_STREAM_MAXLEN: '10',
      REALTIME_MAX_PAYLOAD_BYTES: 'big',
      REALTIME_REAUTH_MS: '10',
    }).join('\n');
    expect(p).toMatch(/REALTIME_STREAM_MAXLEN must be an integer between 100/);
    expect(p).toMatch(/REALTIME_MAX_PAYLOAD_BYTES must be an integer between 1024/);
    expect(p).toMatch(/REALTIME_REAUTH_MS must be a duration between 1000 ms/);
  });

  it('names each invalid variable, all at once', () => {
    const p = problems({
      PORT: 'eighty',
      APP_ROLE: 'cron',
      HTTP_PLATFORM: 'koa',
      REDIS_URL: 'http://x',
      REDIS_CLUSTER_NODES: 'nohost',
      REDIS_PREFIX: 'bad prefix!',
    });
    expect(p.join('\n')).toMatch(/PORT must be an integer/);
    expect(p.join('\n')).toMatch(/APP_ROLE must be one of all \| api \| worker/);
    expect(p.join('\n')).toMatch(/HTTP_PLATFORM must be one of fastify \| express/);
    expect(p.join('\n')).toMatch(/REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(p.join('\n')).toMatch(/REDIS_CLUSTER_NODES must be a comma-separated list of host:port/);
    expect(p.join('\n')).toMatch(/REDIS_PREFIX must be/);
  });

  it('requires the Sentinel master name with REDIS_SENTINELS', () => {
    expect(problems({ REDIS_SENTINELS: 's1:26379' })).toEqual([
      expect.stringMatching(/REDIS_SENTINEL_NAME is required/),
    ]);
  });

  it('never echoes a Redis password in an error', () => {
    expect(problems({ REDIS_URL: 'http://user:hunter2@host' }).join('\n')).not.toContain('hunter2');
  });

  describe('in production', () => {
    it('requires Redis settings and both secrets', () => {
      const p = problems({ NODE_ENV: 'production' });
      expect(p).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^REDIS_URL is required in production/),
          expect.stringMatching(/^JWT_SECRET is required in production/),
          expect.stringMatching(/^SESSION_SECRET is required in production/),
        ]),
      );
    });

    it.each([
      ['short', 'abc123', /JWT_SECRET is too short/],
      [
        'placeholder',
        'changeme-changeme-changeme-changeme-changeme',
        /JWT_SECRET looks like a placeholder/,
      ],
      ['the development default', DEV_SECRET_PLACEHOLDER, /JWT_SECRET looks like a placeholder/],
      ['all x', 'x'.repeat(40), /JWT_SECRET looks like a placeholder/],
    ])('refuses a %s secret', (_what, value, message) => {
      expect(
        problems({
          NODE_ENV: 'production',
          REDIS_URL: 'redis://r:6379',
          ...prodSecrets,
          JWT_SECRET: value,
        }),
      ).toEqual([expect.stringMatching(message)]);
    });

    it.each([
      ['32 × a', 'a'.repeat(32), /single character class/],
      [
        '32 digits',
        '12345678901234567890123456789012'.split('').reverse().join(''),
        /single character class|sequential/,
      ],
      ['password × 4', 'password'.repeat(4), /single character class|dictionary/],
      ['Password1 × 4', 'Password1'.repeat(4), /repeated/],
      ['secret × 6', 'secret'.repeat(6), /single character class|dictionary/],
      ['a keyboard walk', 'qwertyuiopQWERTYUIOPasdfghjklASDFG', /keyboard|sequential/],
      ['an alphabet', 'abcdefghijklmnopqrstuvwxyzABCDEFGH', /sequential/],
      ['dictionary words', 'Password!Secret!Admin!Welcome!Login1', /dictionary/],
      ['low entropy', 'ab1ab2ab1ab2ba1ba2ba1ba2ab1ab2ab1ba', /bits of entropy|repeated/],
    ])('refuses a weak secret: %s', (_what, value, message) => {
      expect(
        problems({
          NODE_ENV: 'production',
          REDIS_URL: 'redis://r:6379',
          ...prodSecrets,
          SESSION_SECRET: value,
        }),
      ).toEqual([
        expect.stringMatching(new RegExp(`^SESSION_SECRET is too weak \\(.*(${message.source})`)),
      ]);
    });

    it.each([
      [
        'openssl rand -base64 48',
        'kX9vQ2mZ7pL4rT8wN1bC6dF3hJ5gS0aE+Yu/Io7Kq2Wz4Xc8Vn1Mb6Pt3Rs9Lh5',
      ],
      ['openssl rand -hex 32', '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'],
    ])('accepts a random secret (%s)', (_what, value) => {
      expect(
        problems({
          NODE_ENV: 'production',
          REDIS_URL: 'redis://r:6379',
          ...prodSecrets,
          JWT_SECRET: value,
        }),
      ).toEqual([]);
    });

    it('refuses the same value for JWT_SECRET and SESSION_SECRET', () => {
      expect(
        problems({
          NODE_ENV: 'production',
          REDIS_URL: 'redis://r:6379',
          JWT_SECRET: prodSecrets.JWT_SECRET,
          SESSION_SECRET: prodSecrets.JWT_SECRET,
        }),
      ).toEqual([expect.stringMatching(/JWT_SECRET and SESSION_SECRET are the same/)]);
    });

    it('accepts Cluster settings instead of REDIS_URL, and strong secrets', () => {
      const c = loadConfig({
        NODE_ENV: 'production',
        REDIS_CLUSTER_NODES: 'r1:7000',
        ...prodSecrets,
      });
      expect(c.isProduction).toBe(true);
      expect(c.host).toBe('0.0.0.0');
      expect(c.secrets.jwtSecret).toBe(prodSecrets.JWT_SECRET);
    });
  });

  it('reads TRUST_PROXY: off by default, true as one hop, a hop count, or addresses and CIDRs', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(
      loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8,fd00::/8, 192.168.1.7' }).trustProxy,
    ).toEqual(['loopback', '10.0.0.0/8', 'fd00::/8', '192.168.1.7']);
    expect(problems({ TRUST_PROXY: '10.0.0.0/33' })).toEqual([
      expect.stringMatching(/^TRUST_PROXY must be/),
    ]);
    expect(problems({ TRUST_PROXY: 'proxy.internal' })).toEqual([
      expect.stringMatching(/^TRUST_PROXY must be/),
    ]);
    expect(problems({ TRUST_PROXY: '50' })).toEqual([
      expect.stringMatching(/^TRUST_PROXY hop count/),
    ]);
  });

  it('reads HTTP timeouts and refuses a headers timeout longer than the request timeout', () => {
    expect(loadConfig({}).httpTimeouts).toEqual({
      requestMs: 30_000,
      headersMs: 10_000,
      keepAliveMs: 5_000,
    });
    expect(problems({ HTTP_REQUEST_TIMEOUT_MS: '5000', HTTP_HEADERS_TIMEOUT_MS: '6000' })).toEqual([
      expect.stringMatching(/HTTP_HEADERS_TIMEOUT_MS \(6000\) must not be longer/),
    ]);
  });

  it('reads DATABASE_URL: postgres server with schema, or in-memory PGlite', () => {
    expect(
      loadConfig({ DATABASE_URL: 'postgres://u@h/db', DATABASE_SCHEMA: 'app' }).database,
    ).toEqual({ kind: 'postgres', url: 'postgres://u@h/db', schema: 'app' });
    expect(loadConfig({ DATABASE_URL: 'memory://' }).database).toEqual({
      kind: 'pglite',
      dataDir: null,
    });
    expect(problems({ DATABASE_URL: 'mysql://h/db' })).toEqual([
      expect.stringMatching(/DATABASE_URL must be a postgres:\/\//),
    ]);
  });

  it('reads mail settings: SMTP_URL (smtp/smtps, password never echoed), MAIL_FROM, OUTBOX_MAX', () => {
    expect(loadConfig({}).mail).toEqual({
      smtpUrl: undefined,
      from: 'no-reply@localhost',
      outboxMax: 1000,
    });
    expect(
      loadConfig({
        SMTP_URL: 'smtps://user:pw@smtp.example.com:465',
        MAIL_FROM: 'Example <no-reply@example.com>',
        OUTBOX_MAX: '50',
      }).mail,
    ).toEqual({
      smtpUrl: 'smtps://user:pw@smtp.example.com:465',
      from: 'Example <no-reply@example.com>',
      outboxMax: 50,
    });
    const p = problems({
      SMTP_URL: 'http://user:hunter2@smtp.example.com',
      MAIL_FROM: 'not an address',
      OUTBOX_MAX: '0',
    });
    expect(p).toEqual([
      expect.stringMatching(/^SMTP_URL must be an smtp:\/\/ or smtps:\/\/ URL/),
      expect.stringMatching(/^MAIL_FROM must be an e-mail address/),
      expect.stringMatching(/^OUTBOX_MAX must be an integer between 1 and 1000000/),
    ]);
    expect(p.join('\n')).not.toContain('hunter2');
    expect(problems({ MAIL_FROM: 'a@b.example\r\nBcc: x@y.example' })).toEqual([
      expect.stringMatching(/^MAIL_FROM must be/),
    ]);
  });

  it('accepts production without SMTP_URL (mail then goes to the outbox only, with a warning at start)', () => {
    const c = loadConfig({ NODE_ENV: 'production', REDIS_URL: 'redis://r:6379', ...prodSecrets });
    expect(c.mail.smtpUrl).toBeUndefined();
  });
});
