import { Cluster } from 'ioredis';
import { RedisDiagnostics, type SlowlogEntry } from '../../src/ops';
import { RedisClient, RedisService } from '../../src/redis';
import { createTestApp, http, isClusterRun, PLATFORMS, TestApp, testPrefix } from '../support/app';
import { issueTokens, logIn, SEEDED_USERS } from '../support/credentials';
import { describeOnPlatforms } from '../support/platforms';
import { redisCli, startRedisServer, TestRedis } from '../support/redis';

/**
 * The admin Redis diagnostics (`/api/admin/redis/*`) against real Redis: the shared server or,
 * in a Cluster run, the shared 6-node Cluster (one answer per master); a private redis-server as
 * the cache role for DEBUG SLEEP, the latency monitor and an outage. Both HTTP platforms.
 */

const ENDPOINTS = ['slowlog', 'info', 'latency', 'memory', 'bigkeys'];

/**
 * A Lua script that keeps Redis busy for ARGV[1] µs by its own clock (TIME), then returns: a
 * slow command that needs no DEBUG (refused by Redis 7 unless `enable-debug-command` is set),
 * so it runs on the shared server and Cluster as they are.
 */
const BUSY_SCRIPT = `local t = redis.call('TIME')
local start = t[1] * 1000000 + t[2]
repeat
  local now = redis.call('TIME')
until (now[1] * 1000000 + now[2]) - start >= tonumber(ARGV[1])
return 1`;

/** host:port of the master serving `key` (the one server on a standalone run). */
async function masterOf(client: RedisClient, key: string): Promise<string> {
  if (!(client instanceof Cluster)) return `${client.options.host}:${client.options.port}`;
  const slot = Number(await client.call('CLUSTER', 'KEYSLOT', key));
  return client.slots[slot][0];
}

function mastersOf(client: RedisClient): string[] {
  if (!(client instanceof Cluster)) return [`${client.options.host}:${client.options.port}`];
  return client
    .nodes('master')
    .map((n) => `${n.options.host}:${n.options.port}`)
    .sort();
}

describeOnPlatforms('admin Redis diagnostics', (t) => {
  let admin: Record<string, string>;
  let adminBearer: Record<string, string>;
  let alan: Record<string, string>;
  let alanBearer: Record<string, string>;
  let state: RedisClient;
  let prefix: string;
  beforeAll(async () => {
    admin = { cookie: await logIn(t.url, SEEDED_USERS.ada.email) };
    adminBearer = {
      authorization: `Bearer ${(await issueTokens(t.url, SEEDED_USERS.ada.email)).accessToken}`,
    };
    alan = { cookie: await logIn(t.url, SEEDED_USERS.alan.email) };
    alanBearer = {
      authorization: `Bearer ${(await issueTokens(t.url, SEEDED_USERS.alan.email)).accessToken}`,
    };
    state = t.app.get(RedisService).client('state');
    prefix = t.config.redis.prefix;
  });

  it('answers 401 without credentials and 403 to a user who is not an admin, on every endpoint', async () => {
    for (const e of ENDPOINTS) {
      const url = `${t.url}/api/admin/redis/${e}`;
      const anonymous = await http(url);
      expect({ e, status: anonymous.status }).toEqual({ e, status: 401 });
      expect(anonymous.body).toMatchObject({ statusCode: 401, message: expect.any(String) });
      expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="api"');
      for (const headers of [alan, alanBearer]) {
        const forbidden = await http(url, { headers });
        expect({ e, status: forbidden.status }).toEqual({ e, status: 403 });
        expect(forbidden.body).toMatchObject({ statusCode: 403, error: 'Forbidden' });
        expect(forbidden.text).not.toContain('servers');
      }
      for (const headers of [admin, adminBearer]) {
        const ok = await http(url, { headers });
        expect({ e, status: ok.status }).toEqual({ e, status: 200 });
        expect(ok.body.role).toBe('state');
        expect(ok.body.servers.map((s: { addr: string }) => s.addr).sort()).toEqual(
          mastersOf(state),
        );
      }
    }
  });

  it('the slow log shows a deliberately slow command, under the server that ran it', async () => {
    const marker = `${prefix}:slow:${Date.now()}`;
    await state.eval(BUSY_SCRIPT, 1, marker, 30_000);
    const res = await http(`${t.url}/api/admin/redis/slowlog?count=128`, { headers: admin });
    expect(res.status).toBe(200);
    const servers = res.body.servers as { addr: string; entries: SlowlogEntry[] }[];
    expect(servers).toHaveLength(isClusterRun() ? 3 : 1);
    const seen = servers.flatMap((s) =>
      s.entries.filter((e) => e.command.includes(marker)).map((e) => ({ addr: s.addr, e })),
    );
    expect(seen).toHaveLength(1);
    const [{ addr, e }] = seen;
    expect(addr).toBe(await masterOf(state, marker));
    // The script ran ≥ 30 ms by the server's own clock, so Redis measured at least that.
    expect(e.durationMicros).toBeGreaterThanOrEqual(30_000);
    expect(e.command.slice(0, 1)).toEqual(['eval']);
    expect(e.command.slice(-3)).toEqual(['1', marker, '30000']);
    expect(e.clientName).toBe(`${prefix}:state`);
    expect(Math.abs(Date.parse(e.at) - Date.now())).toBeLessThan(5 * 60_000);
    for (const s of res.body.servers) {
      expect(s.length).toBeGreaterThanOrEqual(s.entries.length);
      expect(s.thresholdMicros).toEqual(expect.any(Number));
    }
    // count caps the entries per server.
    const one = await http(`${t.url}/api/admin/redis/slowlog?count=1`, { headers: admin });
    for (const s of one.body.servers) expect(s.entries.length).toBeLessThanOrEqual(1);
  });

  it('bigkeys finds a planted large key by size (names and sizes only, never a value)', async () => {
    const tag = `{${prefix}-big}`;
    const big = `${prefix}:${tag}:big`;
    const secret = `SECRET-VALUE-${Date.now()}`;
    await state.set(big, secret + 'x'.repeat(300_000));
    const hash = `${prefix}:${tag}:hash`;
    await state.hset(
      hash,
      Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`f${i}`, 'v'.repeat(20)])),
    );
    for (let i = 0; i < 20; i++) await state.set(`${prefix}:${tag}:small:${i}`, 'y');

    const res = await http(
      `${t.url}/api/admin/redis/bigkeys?match=${encodeURIComponent(`${prefix}:*`)}&top=3&limit=100000&budgetMs=10000`,
      { headers: admin },
    );
    expect(res.status).toBe(200);
    expect(res.text).not.toContain('SECRET-VALUE');
    expect(res.body).toMatchObject({
      role: 'state',
      match: `${prefix}:*`,
      limit: 100_000,
      top: 3,
      samples: 5,
      budgetMs: 10_000,
    });
    const home = await masterOf(state, big);
    const server = res.body.servers.find((s: { addr: string }) => s.addr === home);
    expect(server.error).toBeUndefined();
    expect(server).toMatchObject({ complete: true, truncated: null });
    expect(server.scanned).toBeGreaterThanOrEqual(22);
    expect(server.keys).toHaveLength(3);
    expect(server.keys[0]).toEqual({ key: big, type: 'string', bytes: expect.any(Number) });
    expect(server.keys[0].bytes).toBeGreaterThanOrEqual(300_000);
    expect(server.keys[1]).toMatchObject({ key: hash, type: 'hash' });
    expect(server.keys[1].bytes).toBeGreaterThan(2000 * 20);
    expect(server.keys[1].bytes).toBeLessThan(server.keys[0].bytes);
    expect(server.byType.string.keys).toBeGreaterThanOrEqual(21);
    expect(server.byType.hash).toMatchObject({ keys: expect.any(Number) });
    // Every server was scanned, each to the end of its keyspace.
    expect(res.body.servers.map((s: { addr: string }) => s.addr).sort()).toEqual(mastersOf(state));
    for (const s of res.body.servers) expect(s.complete).toBe(true);
  });

  it('bigkeys stops at the key limit and says so (truncated "limit", not complete)', async () => {
    const tag = `{${prefix}-limit}`;
    for (let i = 0; i < 30; i++) await state.set(`${prefix}:${tag}:k${i}`, 'z'.repeat(i + 1));
    const res = await http(
      `${t.url}/api/admin/redis/bigkeys?match=${encodeURIComponent(`${prefix}:${tag}:*`)}&limit=5&top=10`,
      { headers: admin },
    );
    expect(res.status).toBe(200);
    const home = await masterOf(state, `${prefix}:${tag}:k0`);
    const server = res.body.servers.find((s: { addr: string }) => s.addr === home);
    expect(server).toMatchObject({ scanned: 5, complete: false, truncated: 'limit' });
    expect(server.keys).toHaveLength(5);
  });

  it('bigkeys stops when its time budget is spent (truncated "time")', async () => {
    // The service directly: a budget already spent (the endpoint's minimum is 100 ms).
    const servers = await t.app
      .get(RedisDiagnostics)
      .bigKeys('state', { limit: 1000, top: 5, samples: 5, budgetMs: 0 });
    for (const s of servers)
      expect(s).toMatchObject({ scanned: 0, complete: false, truncated: 'time' });
  });

  it('runs one bigkeys scan at a time per process: a concurrent one is refused (409), the next one runs', async () => {
    const diagnostics = t.app.get(RedisDiagnostics);
    const options = { limit: 100_000, top: 5, samples: 5, budgetMs: 1000 };
    // The first call holds the gate from its first synchronous step until it has answered.
    const running = diagnostics.bigKeys('state', options);
    await expect(diagnostics.bigKeys('state', options)).rejects.toMatchObject({
      status: 409,
      message: expect.stringMatching(/already running/),
    });
    await running;
    const next = await http(`${t.url}/api/admin/redis/bigkeys?limit=10&top=1`, { headers: admin });
    expect(next.status).toBe(200);
  });

  it('INFO is parsed into sections of typed fields, per server', async () => {
    const res = await http(`${t.url}/api/admin/redis/info?section=everything`, { headers: admin });
    expect(res.status).toBe(200);
    expect(res.body.section).toBe('everything');
    for (const s of res.body.servers) {
      expect(s.info.server.redis_version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(s.info.server.tcp_port).toBe(Number(s.addr.split(':')[1]));
      expect(s.info.memory.used_memory).toEqual(expect.any(Number));
      expect(s.info.memory.maxmemory_policy).toEqual(expect.any(String));
      const stats = Object.entries(s.info.commandstats);
      expect(stats.length).toBeGreaterThan(0);
      for (const [name, v] of stats) {
        expect(name).toMatch(/^cmdstat_/);
        expect(v).toMatchObject({ calls: expect.any(Number), usec: expect.any(Number) });
      }
      expect(s.info.replication.role).toBe('master');
    }
    const keyspace = await http(`${t.url}/api/admin/redis/info?section=keyspace&role=cache`, {
      headers: admin,
    });
    expect(keyspace.status).toBe(200);
    expect(keyspace.body.role).toBe('cache');
    for (const s of keyspace.body.servers) expect(Object.keys(s.info)).toEqual(['keyspace']);
    expect(
      keyspace.body.servers.some(
        (s: { info: { keyspace: { db0?: { keys: number } } } }) => s.info.keyspace.db0?.keys,
      ),
    ).toBe(true);
  });

  it('MEMORY STATS and LATENCY LATEST answer per server', async () => {
    const memory = await http(`${t.url}/api/admin/redis/memory`, { headers: admin });
    expect(memory.status).toBe(200);
    for (const s of memory.body.servers) {
      expect(s.stats['peak.allocated']).toEqual(expect.any(Number));
      expect(s.stats['keys.count']).toEqual(expect.any(Number));
      expect(s.stats.fragmentation).toEqual(expect.any(Number));
      expect(s.doctor).toEqual(expect.any(String));
    }
    const latency = await http(`${t.url}/api/admin/redis/latency`, { headers: admin });
    expect(latency.status).toBe(200);
    for (const s of latency.body.servers) {
      expect(Array.isArray(s.latest)).toBe(true);
      expect(s.thresholdMs).toEqual(expect.any(Number));
      expect(s.doctor).toEqual(expect.any(String));
    }
  });

  it('refuses invalid query values with a 400 JSON error naming the parameter', async () => {
    const cases: [string, string][] = [
      ['slowlog?role=primary', 'role'],
      ['slowlog?role=', 'role'],
      ['slowlog?count=0', 'count'],
      ['slowlog?count=129', 'count'],
      ['slowlog?count=1.5', 'count'],
      ['slowlog?count=1&count=2', 'count'],
      ['info?section=secrets', 'section'],
      ['bigkeys?limit=0', 'limit'],
      ['bigkeys?limit=100001', 'limit'],
      ['bigkeys?limit=abc', 'limit'],
      ['bigkeys?top=101', 'top'],
      ['bigkeys?samples=0', 'samples'],
      ['bigkeys?budgetMs=99', 'budgetMs'],
      ['bigkeys?budgetMs=10001', 'budgetMs'],
      ['bigkeys?match=', 'match'],
      ['bigkeys?match=a%20b', 'match'],
      ['bigkeys?match=%00', 'match'],
      [`bigkeys?match=${'a'.repeat(201)}`, 'match'],
      ['latency?role=CACHE', 'role'],
      ['memory?role=state&role=cache', 'role'],
    ];
    for (const [query, name] of cases) {
      const res = await http(`${t.url}/api/admin/redis/${query}`, { headers: admin });
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect(res.body.message).toMatch(new RegExp(`^${name} must`));
    }
  });
});

describe.each(PLATFORMS)('admin Redis diagnostics on a private cache server on %s', (platform) => {
  let cache: TestRedis;
  let t: TestApp;
  let admin: Record<string, string>;
  beforeAll(async () => {
    // The cache role on a server of its own, where DEBUG is allowed and the latency monitor is
    // on; the state role (sessions, so the admin stays logged in) on the shared Redis.
    cache = await startRedisServer({
      args: ['--enable-debug-command', 'local', '--latency-monitor-threshold', '10'],
    });
    t = await createTestApp({
      platform,
      prefix: testPrefix(__filename),
      env: { REDIS_CACHE_URL: cache.url, REDIS_COMMAND_TIMEOUT_MS: '500' },
    });
    admin = { cookie: await logIn(t.url, SEEDED_USERS.ada.email) };
  });
  afterAll(async () => {
    await t?.close();
    await cache?.close();
  });

  it('the slow log and the latency monitor show DEBUG SLEEP', async () => {
    await redisCli(cache.port, 'DEBUG', 'SLEEP', '0.05');
    const slow = await http(`${t.url}/api/admin/redis/slowlog?role=cache`, { headers: admin });
    expect(slow.status).toBe(200);
    expect(slow.body.role).toBe('cache');
    expect(slow.body.servers).toHaveLength(1);
    const [server] = slow.body.servers;
    expect(server.addr).toBe(`127.0.0.1:${cache.port}`);
    const entry = (server.entries as SlowlogEntry[]).find((e) => e.command[0] === 'DEBUG');
    expect(entry).toMatchObject({ command: ['DEBUG', 'SLEEP', '0.05'] });
    expect(entry!.durationMicros).toBeGreaterThanOrEqual(50_000);
    expect(server.thresholdMicros).toBe(10_000);

    const latency = await http(`${t.url}/api/admin/redis/latency?role=cache`, { headers: admin });
    expect(latency.status).toBe(200);
    const [l] = latency.body.servers;
    expect(l.thresholdMs).toBe(10);
    const command = l.latest.find((e: { event: string }) => e.event === 'command');
    expect(command).toMatchObject({ event: 'command', at: expect.any(String) });
    expect(command.maxMs).toBeGreaterThanOrEqual(50);
    expect(l.doctor).toContain('command');
  });

  it('answers 503 JSON while every server of the role is down, and serves again when it is back', async () => {
    await cache.stop();
    try {
      for (const e of ENDPOINTS) {
        const res = await http(`${t.url}/api/admin/redis/${e}?role=cache`, { headers: admin });
        expect({ e, status: res.status }).toEqual({ e, status: 503 });
        expect(res.body).toMatchObject({
          statusCode: 503,
          error: 'Service Unavailable',
          message: expect.stringContaining(`127.0.0.1:${cache.port} unavailable`),
        });
      }
      // The other role's server still answers.
      const state = await http(`${t.url}/api/admin/redis/info?section=server`, { headers: admin });
      expect(state.status).toBe(200);
    } finally {
      await cache.restart();
    }
    const back = await http(`${t.url}/api/admin/redis/info?role=cache&section=server`, {
      headers: admin,
    });
    // The client reconnects by itself (back-off up to 2 s).
    const deadline = Date.now() + 20_000;
    let res = back;
    while (res.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      res = await http(`${t.url}/api/admin/redis/info?role=cache&section=server`, {
        headers: admin,
      });
    }
    expect(res.status).toBe(200);
    expect(res.body.servers[0].info.server.tcp_port).toBe(cache.port);
  });
});
