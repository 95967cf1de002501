/**
 * Shared helpers of the coordination benchmark: settings, statistics, the machine line, the
 * Lua assets of dist-bench, private redis-servers and Redis INFO deltas. Every server it
 * starts listens on 127.0.0.1 only, never on port 6379.
 */
import { ChildProcess, execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { RedisServerProcess } from '../../src/redis/embedded-redis';

// --- settings ------------------------------------------------------------------------------

/** A numeric environment setting (≥ min), or `def` when unset. */
export function num(name: string, def: number, min = 0): number {
  const v = process.env[name];
  if (v === undefined || v.trim() === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number ≥ ${min}`);
  return n;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// --- statistics ----------------------------------------------------------------------------

export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Nearest-rank percentile (p in 0..100); NaN when empty. Sorts `values` in place. */
export function percentileInPlace(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  values.sort((a, b) => a - b);
  const rank = Math.min(values.length, Math.max(1, Math.ceil((p / 100) * values.length)));
  return values[rank - 1];
}

// --- paths and assets ----------------------------------------------------------------------

/** dist-bench/bench/coord → the repository root */
export const ROOT = resolve(__dirname, '../../..');
/** dist-bench/src: where the compiled services look for `lua/` next to themselves */
export const DIST_SRC = resolve(__dirname, '../../src');

/**
 * nest-cli copies `src/**\/lua/*.lua` into dist/ only; the services compiled into dist-bench
 * read them from `join(__dirname, 'lua')`, so copy them to the matching dist-bench folders.
 * Returns the number of files copied.
 */
export function copyLuaAssets(): number {
  let copied = 0;
  const srcRoot = join(ROOT, 'src');
  const walk = (dir: string, depth: number): void => {
    if (depth > 10) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const full = join(dir, e.name);
      if (e.name === 'lua') {
        const target = join(DIST_SRC, relative(srcRoot, full));
        mkdirSync(target, { recursive: true });
        for (const f of readdirSync(full).filter((n) => n.endsWith('.lua'))) {
          copyFileSync(join(full, f), join(target, f));
          copied += 1;
        }
      } else {
        walk(full, depth + 1);
      }
    }
  };
  walk(srcRoot, 0);
  return copied;
}

// --- machine -------------------------------------------------------------------------------

export function redisServerVersion(): string {
  try {
    const out = execFileSync('redis-server', ['--version'], { encoding: 'utf8', timeout: 5_000 });
    return /v=(\S+)/.exec(out)?.[1] ?? out.trim();
  } catch {
    return 'unknown';
  }
}

export function machineLine(): string {
  const cpu = cpus()[0]?.model?.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
  const memGiB = (totalmem() / 1024 ** 3).toFixed(1);
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
  return (
    `Machine: ${cpu}, ${availableParallelism()} cores, ${memGiB} GiB RAM, Linux ${release()}; ` +
    `Node ${process.version}; redis-server ${redisServerVersion()}; ` +
    `load average at start ${load} (1/5/15 min)`
  );
}

// --- process bookkeeping: nothing outlives the run -----------------------------------------

export const liveChildren = new Set<ChildProcess>();
export const liveRedis = new Set<RedisServerProcess>();

export function killEverything(): void {
  for (const c of liveChildren) c.kill('SIGKILL');
  for (const r of liveRedis) void r.kill();
}

// --- private redis-server ------------------------------------------------------------------

export interface PrivateRedis {
  server: RedisServerProcess;
  url: string;
  /** A connection of its own for INFO / FLUSHALL (not the one under test). */
  admin: Redis;
  stop(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'nrp-coord-redis-'));
  const server = new RedisServerProcess({ dir, appendonly: false });
  liveRedis.add(server);
  try {
    await server.start();
  } catch (err) {
    liveRedis.delete(server);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  if (server.port === 6379) {
    await server.stop();
    throw new Error('refusing to use port 6379');
  }
  const admin = new Redis(server.url, { maxRetriesPerRequest: 1, lazyConnect: true });
  await admin.connect();
  return {
    server,
    url: server.url,
    admin,
    async stop() {
      admin.disconnect();
      await server.stop();
      liveRedis.delete(server);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// --- Redis cost ----------------------------------------------------------------------------

export interface RedisSnapshot {
  /** calls per command from INFO commandstats (commands run inside Lua scripts included), INFO excluded */
  calls: Map<string, number>;
  cpuMs: number;
  netInBytes: number;
}

export async function redisSnapshot(client: Redis): Promise<RedisSnapshot> {
  const text = await client.info('commandstats');
  const cpuText = await client.info('cpu');
  const statsText = await client.info('stats');
  const calls = new Map<string, number>();
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (m[1] === 'info') continue;
    calls.set(m[1], Number(m[2]));
  }
  const field = (src: string, name: string) =>
    Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(src)?.[1]);
  return {
    calls,
    cpuMs: (field(cpuText, 'used_cpu_user') + field(cpuText, 'used_cpu_sys')) * 1000,
    netInBytes: field(statsText, 'total_net_input_bytes'),
  };
}

export interface RedisDelta {
  /** all calls (commandstats, in-script commands included) */
  commands: number;
  /** EVAL + EVALSHA calls: one per script run, i.e. round trips that ran a script */
  scripts: number;
  byCommand: Map<string, number>;
  cpuMs: number;
  netInBytes: number;
}

export function redisDelta(before: RedisSnapshot, after: RedisSnapshot): RedisDelta {
  const byCommand = new Map<string, number>();
  let commands = 0;
  for (const [cmd, n] of after.calls) {
    const d = n - (before.calls.get(cmd) ?? 0);
    if (d > 0) {
      byCommand.set(cmd, d);
      commands += d;
    }
  }
  // INFO is excluded by name; its few request bytes remain in netInBytes (negligible).
  const scripts = (byCommand.get('evalsha') ?? 0) + (byCommand.get('eval') ?? 0);
  return {
    commands,
    scripts,
    byCommand,
    cpuMs: after.cpuMs - before.cpuMs,
    netInBytes: after.netInBytes - before.netInBytes,
  };
}

/** "5.00 (evalsha 1.00, hset 1.00, …)" per operation, largest first. */
export function perOpBreakdown(d: RedisDelta, ops: number): string {
  if (ops <= 0) return 'n/a';
  const parts = [...d.byCommand.entries()]
    .map(([cmd, n]) => [cmd, n / ops] as const)
    .filter(([, per]) => per >= 0.005)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([cmd, per]) => `${cmd} ${per.toFixed(2)}`);
  return `${(d.commands / ops).toFixed(2)} (${parts.join(', ')})`;
}
