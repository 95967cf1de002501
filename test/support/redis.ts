import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pingRedis, RedisServerProcess } from '../../src/redis/embedded-redis';

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

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += String(d)));
    p.stderr.on('data', (d) => (out += String(d)));
    p.once('error', reject);
    p.once('exit', (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${out}`)),
    );
  });
}

/**
 * A local 6-node Redis Cluster (3 masters, 3 replicas) made with `redis-cli --cluster create`.
 */
export class TestRedisCluster {
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
      return new TestRedisCluster(nodes);
    } catch (err) {
      await Promise.all(nodes.map((n) => n.close()));
      throw err;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.close()));
  }
}

export { pingRedis };
