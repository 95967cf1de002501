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
});
