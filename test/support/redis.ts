import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pingRedis, RedisServerProcess } from '../../src/redis';
import { findOnPath } from '../../src/config';

/** The redis-server on this process's PATH. */
const REDIS_SERVER_BINARY = findOnPath('redis-server', process.env.PATH ?? '');

/**
 * Throwaway redis-server processes for tests: random free ports (never 6379, never a shared
 * instance), data in a temp folder, no persistence, killed with the test run. Built on the
 * same RedisServerProcess the app uses in development.
 */
export async function startRedisServer(
  options: { port?: number; args?: string[] } = {},
): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'nrp-redis-'));
  const server = await new RedisServerProcess({
    binary: REDIS_SERVER_BINARY,
    dir,
    port: options.port,
    appendonly: false,
    args: options.args,
  }).start();
  return new TestRedis(server, dir, options.args);
}

export class TestRedis {
  constructor(
    private server: RedisServerProcess,
    readonly dir: string,
    private readonly args?: string[],
  ) {}

  get url(): string {
    return this.server.url;
  }

  get port(): number {
    return this.server.port;
  }

  /** Stops the server (SIGTERM, as an operator would), keeping its port for {@link restart}. */
  async stop(): Promise<void> {
    await this.server.stop();
  }

  /** Kills the server (SIGKILL, a crash). */
  async kill(): Promise<void> {
    await this.server.kill();
  }

  /** Freezes the server (SIGSTOP): connections stay open, nothing is answered. */
  freeze(): void {
    process.kill(this.server.pid!, 'SIGSTOP');
  }

  /** Resumes a frozen server (SIGCONT): it answers everything queued meanwhile. */
  thaw(): void {
    process.kill(this.server.pid!, 'SIGCONT');
  }

  /** Starts a fresh server on the same port. */
  async restart(): Promise<void> {
    await this.server.stop();
    this.server = await new RedisServerProcess({
      binary: REDIS_SERVER_BINARY,
      dir: this.dir,
      port: this.port,
      appendonly: false,
      args: this.args,
    }).start();
  }

  async close(): Promise<void> {
    if (this.server.pid) {
      try {
        process.kill(this.server.pid, 'SIGCONT'); // a frozen server cannot stop
      } catch {
        // already gone
      }
    }
    await this.server.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A port whose cluster bus port (port + 10000) is free too. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    if (taken.has(port) || taken.has(port + 10000)) continue;
    if ((await portFree(port)) && (await portFree(port + 10000))) {
      taken.add(port).add(port + 10000);
      return port;
    }
  }
  throw new Error('no free port pair for a cluster node');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `check` until it returns a value (not undefined) or `timeoutMs` passes; then throws,
 * naming `what` and the last error `check` threw, if any.
 */
async function pollFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    const v = await check().catch((err: Error) => {
      lastError = ` (last error: ${err.message})`;
      return undefined;
    });
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError}`);
    await sleep(200);
  }
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += String(d)));
    p.stderr.on('data', (d) => (out += String(d)));
    p.once('error', reject);
    // 'close', not 'exit': 'exit' can come before the last of the output has been read.
    p.once('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${out}`)),
    );
  });
}

/** Runs one command with `redis-cli` against a local port; returns the raw reply lines. */
export async function redisCli(port: number, ...args: string[]): Promise<string[]> {
  const out = await run('redis-cli', ['-p', String(port), ...args]);
  return out
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l !== '');
}

/** `INFO <section>` of a server as a map (`role`, `master_link_status`, …). */
export async function redisInfo(port: number, section: string): Promise<Record<string, string>> {
  const lines = await redisCli(port, 'INFO', section);
  return Object.fromEntries(
    lines
      .filter((l) => l.includes(':'))
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
  );
}

/**
 * A local Sentinel topology: one master, one replica (`--replicaof`) and three Sentinels
 * (`redis-server <conf> --sentinel`, quorum 2) watching them. Failure detection is short
 * (`down-after-milliseconds` 1000, `failover-timeout` 4000), so killing the master promotes the
 * replica within a few seconds. Each Sentinel gets its own config file in a temp folder,
 * which it rewrites as it learns the topology. Private to the suite that starts it: suites kill
 * its nodes.
 */
export class TestRedisSentinel {
  static readonly masterName = 'nrp-ha';

  private constructor(
    /** Data nodes in start order: `[0]` started as master, `[1]` as its replica. */
    readonly servers: TestRedis[],
    private readonly sentinels: RedisServerProcess[],
    private readonly dir: string,
  ) {}

  /** `REDIS_SENTINELS` for the app. */
  get sentinelList(): string {
    return this.sentinels.map((s) => `127.0.0.1:${s.port}`).join(',');
  }

  get name(): string {
    return TestRedisSentinel.masterName;
  }

  static async start(): Promise<TestRedisSentinel> {
    const servers: TestRedis[] = [];
    const sentinels: RedisServerProcess[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'nrp-sentinel-'));
    const name = TestRedisSentinel.masterName;
    try {
      // No 5 s diskless-sync delay: the replica syncs at once, here and after a failover.
      const fast = ['--repl-diskless-sync-delay', '0'];
      const master = await startRedisServer({ args: fast });
      servers.push(master);
      const replica = await startRedisServer({
        args: [...fast, '--replicaof', '127.0.0.1', String(master.port)],
      });
      servers.push(replica);
      await pollFor('the replica to sync', async () =>
        (await redisInfo(replica.port, 'replication')).master_link_status === 'up'
          ? true
          : undefined,
      );
      for (let i = 0; i < 3; i++) {
        const sdir = join(dir, `sentinel-${i}`);
        mkdirSync(sdir, { recursive: true });
        const conf = join(sdir, 'sentinel.conf');
        writeFileSync(
          conf,
          [
            `sentinel monitor ${name} 127.0.0.1 ${master.port} 2`,
            `sentinel down-after-milliseconds ${name} 1000`,
            `sentinel failover-timeout ${name} 4000`,
            `sentinel parallel-syncs ${name} 1`,
            '',
          ].join('\n'),
        );
        sentinels.push(
          await new RedisServerProcess({
            binary: REDIS_SERVER_BINARY,
            dir: sdir,
            configFile: conf,
            appendonly: false,
            args: ['--sentinel'],
          }).start(),
        );
      }
      const topology = new TestRedisSentinel(servers, sentinels, dir);
      // A failover needs every Sentinel to know the replica and a quorum of its peers.
      for (const s of sentinels) {
        await pollFor(`sentinel ${s.port} to see the replica and its peers`, async () => {
          const m = await topology.sentinelMaster(s.port);
          return m['num-slaves'] === '1' && m['num-other-sentinels'] === '2' ? true : undefined;
        });
      }
      return topology;
    } catch (err) {
      await Promise.all(sentinels.map((s) => s.stop()));
      await Promise.all(servers.map((n) => n.close()));
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** The data node the Sentinels currently name as master. */
  async master(): Promise<TestRedis> {
    const [, port] = await redisCli(
      this.sentinels[0].port,
      'SENTINEL',
      'get-master-addr-by-name',
      this.name,
    );
    const node = this.servers.find((n) => n.port === Number(port));
    if (!node) throw new Error(`sentinels name an unknown master on port ${port}`);
    return node;
  }

  /** The other data node. */
  async replica(): Promise<TestRedis> {
    const master = await this.master();
    return this.servers.find((n) => n !== master)!;
  }

  /**
   * Waits until every Sentinel names a master other than `old` and that node answers as a
   * master (the promoted replica has run `REPLICAOF NO ONE`); returns it.
   */
  async waitForFailover(old: TestRedis, timeoutMs = 30_000): Promise<TestRedis> {
    return pollFor(
      `a failover away from port ${old.port}`,
      async () => {
        const ports = new Set<number>();
        for (const s of this.sentinels) {
          const [, port] = await redisCli(s.port, 'SENTINEL', 'get-master-addr-by-name', this.name);
          ports.add(Number(port));
        }
        if (ports.size !== 1 || ports.has(old.port)) return undefined;
        const node = this.servers.find((n) => ports.has(n.port));
        if (!node) return undefined;
        return (await redisInfo(node.port, 'replication')).role === 'master' ? node : undefined;
      },
      timeoutMs,
    );
  }

  private async sentinelMaster(port: number): Promise<Record<string, string>> {
    const lines = await redisCli(port, 'SENTINEL', 'master', this.name);
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < lines.length; i += 2) out[lines[i]] = lines[i + 1];
    return out;
  }

  /** Sentinels first (so shutting the data nodes down starts no failover), then the data nodes. */
  async close(): Promise<void> {
    await Promise.all(this.sentinels.map((s) => s.stop()));
    await Promise.all(this.servers.map((n) => n.close()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A local 6-node Redis Cluster (3 masters, 3 replicas) made with `redis-cli --cluster create`.
 */
export class TestRedisCluster {
  private readonly dead = new Set<TestRedis>();

  private constructor(readonly nodes: TestRedis[]) {}

  get nodeList(): string {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
  }

  static async start(size = 6): Promise<TestRedisCluster> {
    const taken = new Set<number>();
    const nodes: TestRedis[] = [];
    try {
      for (let i = 0; i < size; i++) {
        const port = await clusterPort(taken);
        nodes.push(
          await startRedisServer({
            port,
            args: [
              '--cluster-enabled',
              'yes',
              '--cluster-config-file',
              'nodes.conf',
              '--cluster-node-timeout',
              '3000',
              // Replicas sync at once (not after the 5 s diskless default), so the cluster is
              // ready to fail over as soon as start() returns.
              '--repl-diskless-sync-delay',
              '0',
            ],
          }),
        );
      }
      await run('redis-cli', [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        '1',
        '--cluster-yes',
      ]);
      const deadline = Date.now() + 30_000;
      for (const n of nodes) {
        for (;;) {
          const info = await run('redis-cli', ['-p', String(n.port), 'cluster', 'info']);
          if (info.includes('cluster_state:ok') && info.includes('cluster_slots_ok:16384')) break;
          if (Date.now() > deadline) throw new Error(`cluster did not converge:\n${info}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      // Every replica has synced and every node knows who replicates whom: a master killed now
      // has a replica able to take over.
      const cluster = new TestRedisCluster(nodes);
      for (const n of nodes) {
        await pollFor(`node ${n.port} to finish its replication handshake`, async () => {
          const r = await redisInfo(n.port, 'replication');
          const synced =
            r.role === 'master' ? r.connected_slaves !== '0' : r.master_link_status === 'up';
          const known = (await cluster.clusterNodes(n)).filter((l) => l.masterId).length;
          return synced && known === Math.floor(size / 2) ? true : undefined;
        });
      }
      return cluster;
    } catch (err) {
      await Promise.all(nodes.map((n) => n.close()));
      throw err;
    }
  }

  /** The hash slot of a key (`CLUSTER KEYSLOT`). */
  async keySlot(key: string): Promise<number> {
    return Number((await redisCli(this.alive()[0].port, 'CLUSTER', 'KEYSLOT', key))[0]);
  }

  /** The node serving `slot` as master, in the view of `from` (default: a live node). */
  async masterOf(slot: number, from = this.alive()[0]): Promise<TestRedis> {
    const line = (await this.clusterNodes(from)).find(
      (n) => n.flags.includes('master') && !n.flags.includes('fail') && n.owns(slot),
    );
    const node = line && this.nodes.find((n) => n.port === line.port);
    if (!node) throw new Error(`no live master serves slot ${slot}`);
    return node;
  }

  /** The live replicas of a master. */
  async replicasOf(master: TestRedis): Promise<TestRedis[]> {
    const lines = await this.clusterNodes();
    const id = lines.find((n) => n.port === master.port)?.id;
    const ports = lines
      .filter((n) => n.masterId === id && !n.flags.includes('fail'))
      .map((n) => n.port);
    return this.alive().filter((n) => ports.includes(n.port));
  }

  /** Kills a node (SIGKILL, a crash). */
  async kill(node: TestRedis): Promise<void> {
    this.dead.add(node);
    await node.kill();
  }

  /**
   * Waits until a node other than `old` serves `slot` as master and every live node reports
   * `cluster_state:ok` (the replica won its election and the cluster agrees); returns it.
   */
  async waitForFailover(old: TestRedis, slot: number, timeoutMs = 30_000): Promise<TestRedis> {
    return pollFor(
      `a failover of slot ${slot} away from port ${old.port}`,
      async () => {
        const views = await Promise.all(
          this.alive().map(async (n) => ({
            master: await this.masterOf(slot, n),
            ok: (await redisCli(n.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'),
          })),
        );
        const master = views[0].master;
        const agreed = views.every((v) => v.ok && v.master === master);
        return agreed && master !== old ? master : undefined;
      },
      timeoutMs,
    );
  }

  private alive(): TestRedis[] {
    return this.nodes.filter((n) => !this.dead.has(n));
  }

  private async clusterNodes(
    from = this.alive()[0],
  ): Promise<
    { id: string; port: number; flags: string[]; masterId?: string; owns(slot: number): boolean }[]
  > {
    const lines = await redisCli(from.port, 'CLUSTER', 'NODES');
    return lines.map((line) => {
      const [id, addr, flags, masterId, , , , , ...slots] = line.split(' ');
      const ranges = slots
        .filter((r) => /^\d+(-\d+)?$/.test(r))
        .map((r) => r.split('-').map(Number))
        .map(([lo, hi]) => [lo, hi ?? lo] as const);
      return {
        id,
        port: Number(/:(\d+)@/.exec(addr)![1]),
        flags: flags.split(','),
        masterId: masterId === '-' ? undefined : masterId,
        owns: (slot: number) => ranges.some(([lo, hi]) => slot >= lo && slot <= hi),
      };
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.close()));
  }
}

export { pingRedis };
