import { Logger } from '@nestjs/common';
import { spawn } from 'node:child_process';
import { MetricsListener } from '../../src/metrics';
import { RedisServerMetrics } from '../../src/ops';
import {
  createTestApp,
  eventually,
  http,
  isClusterRun,
  PLATFORMS,
  TestApp,
  testPrefix,
} from '../support/app';
import { startRedisServer, TestRedis, TestRedisCluster } from '../support/redis';

/** Every sample of a metric: its labels and value. */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const open = line.indexOf('{');
    const close = line.lastIndexOf('}');
    const labels: Record<string, string> = {};
    if (open === name.length) {
      for (const m of line.slice(open + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
        labels[m[1]] = m[2];
    }
    out.push({ labels, value: Number(line.slice(line.lastIndexOf(' ') + 1)) });
  }
  return out;
}

/** The value of the one sample whose labels include `labels` (undefined when absent). */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  return samples(text, name).find((s) =>
    Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )?.value;
}

/**
 * `promtool check metrics` on an exposition: its complaints, minus the notes it has on
 * prom-client's own default metrics (`nodejs_*`, `process_*`), which are not ours to rename.
 */
function promtoolProblems(text: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const p = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += String(d)));
    p.stderr.on('data', (d) => (out += String(d)));
    p.once('error', reject);
    p.once('close', () =>
      resolve(
        out
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l !== '' && !/^(nodejs_|process_)/.test(l)),
      ),
    );
    p.stdin.end(text);
  });
}

/** A private Redis of this suite: one server, or a 6-node Cluster in a Cluster run. */
interface Topology {
  env: Record<string, string>;
  /** Ports of the servers the app should report (the Cluster's masters). */
  masters(): Promise<number[]>;
  stop(): Promise<void>;
  restart(): Promise<void>;
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

async function startTopology(): Promise<Topology> {
  if (isClusterRun()) {
    const cluster = await TestRedisCluster.start();
    return {
      env: { REDIS_CLUSTER_NODES: cluster.nodeList },
      masters: async () => {
        const ports = new Set<number>();
        for (const slot of [0, 8000, 16383]) ports.add((await cluster.masterOf(slot)).port);
        return [...ports];
      },
      stop: async () => void (await Promise.all(cluster.nodes.map((n) => n.stop()))),
      restart: async () => void (await Promise.all(cluster.nodes.map((n) => n.restart()))),
      freeze: () => cluster.nodes.forEach((n) => n.freeze()),
      thaw: () => cluster.nodes.forEach((n) => n.thaw()),
      close: () => cluster.close(),
    };
  }
  const redis = await startRedisServer();
  return {
    env: { REDIS_URL: redis.url },
    masters: () => Promise.resolve([redis.port]),
    stop: () => redis.stop(),
    restart: () => redis.restart(),
    freeze: () => redis.freeze(),
    thaw: () => redis.thaw(),
    close: () => redis.close(),
  };
}

async function timedScrape(url: string): Promise<{ ms: number; status: number; text: string }> {
  const start = Date.now();
  const res = await http(`${url}/metrics`);
  return { ms: Date.now() - start, status: res.status, text: res.text };
}

describe('Redis server state at scrape', () => {
  // One private topology for both platforms (a Cluster takes long to start on a busy machine);
  // each test leaves it answering for the next.
  let topology: Topology;
  beforeAll(async () => {
    topology = await startTopology();
  }, 180_000);
  afterAll(async () => {
    await topology?.close();
  });

  describe.each(PLATFORMS)('on %s', (platform) => {
    let t: TestApp;
    let addrs: string[];

    beforeAll(async () => {
      t = await createTestApp({
        platform,
        prefix: testPrefix(__filename),
        env: { ...topology.env, REDIS_COMMAND_TIMEOUT_MS: '500' },
      });
      addrs = (await topology.masters()).map((p) => `127.0.0.1:${p}`).sort();
    }, 120_000);
    afterAll(async () => {
      await t?.close();
    });

    /** Scrapes until every server reports up (after a restart or a thaw). */
    const allUp = () =>
      eventually(
        async () => (await http(`${t.url}/metrics`)).text,
        (text) => {
          const up = samples(text, 'redis_up');
          return up.length === addrs.length * 2 && up.every((s) => s.value === 1);
        },
        60_000,
      );

    it('reports each server (each Cluster master) under both roles, with redis_exporter’s names, and promtool accepts the page', async () => {
      const text = await allUp();
      for (const role of ['state', 'cache']) {
        const up = samples(text, 'redis_up').filter((s) => s.labels.role === role);
        expect(up.map((s) => s.labels.addr).sort()).toEqual(addrs);
        expect(up.every((s) => s.value === 1)).toBe(true);
        for (const addr of addrs) {
          const labels = { role, addr };
          expect(sample(text, 'redis_memory_used_bytes', labels)).toBeGreaterThan(0);
          expect(sample(text, 'redis_memory_max_bytes', labels)).toBe(0);
          expect(sample(text, 'redis_connected_clients', labels)).toBeGreaterThan(0);
          expect(sample(text, 'redis_aof_enabled', labels)).toBe(0); // the harness runs without AOF
          expect(sample(text, 'redis_slowlog_length', labels)).toBeGreaterThanOrEqual(0);
          expect(sample(text, 'redis_instantaneous_ops_per_second', labels)).toBeGreaterThanOrEqual(
            0,
          );
          expect(sample(text, 'redis_keyspace_hits_total', labels)).toBeGreaterThanOrEqual(0);
          expect(sample(text, 'redis_evicted_keys_total', labels)).toBe(0);
          expect(
            sample(text, 'redis_instance_info', {
              ...labels,
              maxmemory_policy: 'noeviction',
              replication_role: 'master',
              redis_mode: isClusterRun() ? 'cluster' : 'standalone',
            }),
          ).toBe(1);
        }
      }
      expect(text).toMatch(/^# TYPE redis_evicted_keys_total counter$/m);
      if (isClusterRun()) {
        // Each master has its replica: its lag is reported.
        expect(samples(text, 'redis_connected_slave_lag_seconds').length).toBeGreaterThanOrEqual(
          addrs.length,
        );
      }
      // The same INFO runs the start-up checks: no AOF on state.
      expect(sample(text, 'redis_config_warnings', { role: 'state', check: 'aof_disabled' })).toBe(
        1,
      );
      expect(
        sample(text, 'redis_config_warnings', { role: 'state', check: 'eviction_policy' }),
      ).toBe(0);
      expect(await promtoolProblems(text)).toEqual([]);
    }, 120_000);

    it('answers within 1 s while Redis is stopped, every server marked down (redis_up 0), and recovers', async () => {
      await topology.stop();
      try {
        const scrape = await timedScrape(t.url);
        expect(scrape.status).toBe(200);
        expect(scrape.ms).toBeLessThan(1000);
        const up = samples(scrape.text, 'redis_up');
        expect(up.length).toBeGreaterThan(0);
        expect(up.every((s) => s.value === 0)).toBe(true);
        expect(samples(scrape.text, 'redis_memory_used_bytes')).toEqual([]);
        expect(await promtoolProblems(scrape.text)).toEqual([]);
        // Again, once the clients have seen the connection go (fail fast, no waiting).
        const again = await timedScrape(t.url);
        expect(again.ms).toBeLessThan(1000);
        expect(samples(again.text, 'redis_up').every((s) => s.value === 0)).toBe(true);
      } finally {
        await topology.restart();
      }
      const back = await eventually(
        async () => (await http(`${t.url}/metrics`)).text,
        (text) => {
          const up = samples(text, 'redis_up').filter((s) => s.labels.role === 'state');
          return up.length === addrs.length && up.every((s) => s.value === 1);
        },
        60_000,
      );
      expect(samples(back, 'redis_up').filter((s) => s.value === 1).length).toBe(addrs.length * 2);
    }, 120_000);

    it('marks a frozen Redis (SIGSTOP) down within the scrape timeout', async () => {
      await allUp();
      topology.freeze();
      try {
        const scrape = await timedScrape(t.url);
        expect(scrape.status).toBe(200);
        // 500 ms for INFO; queue_jobs (src/queue) waits up to 1 s of its own in the same scrape.
        expect(scrape.ms).toBeLessThan(2500);
        const up = samples(scrape.text, 'redis_up');
        expect(up.length).toBeGreaterThan(0);
        expect(up.every((s) => s.value === 0)).toBe(true);
      } finally {
        topology.thaw();
      }
      await allUp();
    }, 120_000);
  });
});

describe('start-up checks', () => {
  const servers: TestRedis[] = [];
  const apps: TestApp[] = [];
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
    await Promise.all(servers.map((s) => s.close()));
  });

  async function appOn(
    stateArgs: string[],
    cacheArgs?: string[],
  ): Promise<{ t: TestApp; warnings: string }> {
    const state = await startRedisServer({ args: stateArgs });
    servers.push(state);
    const env: Record<string, string> = { REDIS_URL: state.url };
    if (cacheArgs) {
      const cache = await startRedisServer({ args: cacheArgs });
      servers.push(cache);
      env.REDIS_CACHE_URL = cache.url;
    }
    const warn = jest.spyOn(Logger.prototype, 'warn');
    try {
      const t = await createTestApp({ prefix: testPrefix(__filename), role: 'api', env });
      apps.push(t);
      await t.app.get(RedisServerMetrics).runStartupChecks();
      return { t, warnings: warn.mock.calls.map((c) => String(c[0])).join('\n') };
    } finally {
      warn.mockRestore();
    }
  }

  const warning = async (t: TestApp, role: string, check: string) =>
    sample((await http(`${t.url}/metrics`)).text, 'redis_config_warnings', { role, check });

  it('warns (log and metric) about an evicting state server without AOF and a cache server with noeviction and no maxmemory', async () => {
    const { t, warnings } = await appOn(
      ['--maxmemory-policy', 'allkeys-lru', '--appendonly', 'no'],
      ['--maxmemory-policy', 'noeviction'],
    );
    expect(warnings).toMatch(/redis state .*maxmemory-policy is "allkeys-lru", not "noeviction"/);
    expect(warnings).toMatch(/redis state .*appendonly is off on the state instance/);
    expect(warnings).toMatch(/redis cache .*"noeviction" on the cache instance/);
    expect(warnings).toMatch(/redis cache .*maxmemory is not set on the cache instance/);
    expect(warnings).not.toMatch(/older than 7/);
    expect(await warning(t, 'state', 'eviction_policy')).toBe(1);
    expect(await warning(t, 'state', 'aof_disabled')).toBe(1);
    expect(await warning(t, 'state', 'redis_version')).toBe(0);
    expect(await warning(t, 'cache', 'eviction_policy')).toBe(1);
    expect(await warning(t, 'cache', 'maxmemory_unset')).toBe(1);
    expect(await warning(t, 'cache', 'redis_version')).toBe(0);
  });

  it('passes a noeviction + AOF state server and a bounded allkeys-lru cache server', async () => {
    const { t, warnings } = await appOn(
      ['--appendonly', 'yes'],
      ['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru'],
    );
    expect(warnings).not.toMatch(/maxmemory-policy|appendonly|maxmemory is not set|older than/);
    for (const check of ['eviction_policy', 'aof_disabled', 'redis_version'])
      expect(await warning(t, 'state', check)).toBe(0);
    for (const check of ['eviction_policy', 'maxmemory_unset', 'redis_version'])
      expect(await warning(t, 'cache', check)).toBe(0);
  });

  it('leaves the cache’s eviction and maxmemory to the state rules when both roles share one server', async () => {
    const { t } = await appOn(['--appendonly', 'yes']);
    expect(await warning(t, 'state', 'eviction_policy')).toBe(0);
    expect(await warning(t, 'cache', 'eviction_policy')).toBe(0);
    expect(await warning(t, 'cache', 'maxmemory_unset')).toBe(0);
    // The server is asked once, reported under both roles.
    const text = (await http(`${t.url}/metrics`)).text;
    const up = samples(text, 'redis_up');
    expect(up.map((s) => s.labels.role).sort()).toEqual(['cache', 'state']);
    expect(new Set(up.map((s) => s.labels.addr)).size).toBe(1);
  });
});

describe.each(PLATFORMS)('METRICS_PORT on %s', (platform) => {
  const apps: TestApp[] = [];
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
  });

  for (const role of ['all', 'worker'] as const) {
    it(`serves /metrics on its own port and not on PORT (${role} role)`, async () => {
      const t = await createTestApp({
        platform,
        role,
        prefix: testPrefix(__filename),
        env: { METRICS_PORT: '0' },
      });
      apps.push(t);
      const port = t.app.get(MetricsListener).port;
      expect(port).toBeGreaterThan(0);
      const metricsUrl = `http://127.0.0.1:${port}`;
      await http(`${t.url}/health/live`); // one request on the public port, to be counted
      const res = await http(`${metricsUrl}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(res.text).toMatch(/^redis_up\{role="state",addr="[^"]+"\} 1$/m);
      expect(res.text).toContain('http_request_duration_seconds_count{');
      expect((await http(`${t.url}/metrics`)).status).toBe(404);
      expect((await http(`${metricsUrl}/health/live`)).status).toBe(404);
      expect((await http(`${metricsUrl}/metrics`, { method: 'POST', raw: '' })).status).toBe(405);
      expect((await http(`${t.url}/health/live`)).status).toBe(200);
    });
  }
});
