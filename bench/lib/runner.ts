/**
 * The runner side of both benchmarks: paths and the Lua assets of dist-bench, results files,
 * the machine line, process bookkeeping (nothing outlives the run), the server child process
 * and private redis-servers. Every server it starts listens on 127.0.0.1 only, never on
 * port 6379.
 *
 * Importing this module has no side effects: the runner installs its exit and signal handlers
 * with {@link installCleanupHandlers}.
 */
import { ChildProcess, execFileSync, fork } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import {
  availableParallelism,
  cpus,
  freemem,
  loadavg,
  platform,
  release,
  tmpdir,
  totalmem,
} from 'node:os';
import { join, relative, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { RedisServerProcess } from '../../src/redis';
import { findOnPath } from '../../src/config';

/** The redis-server on this process's PATH. */
const REDIS_SERVER_BINARY = findOnPath('redis-server', process.env.PATH ?? '');

// --- paths, assets and results -------------------------------------------------------------

/** dist-bench/bench/lib → the repository root */
export const ROOT = resolve(__dirname, '../../..');
/** dist-bench/src: where the compiled services look for `lua/` next to themselves */
export const DIST_SRC = resolve(__dirname, '../../src');

/**
 * nest-cli copies `src/**\/lua/*.lua` into dist/ only; the services compiled into dist-bench
 * (CacheService, RedisService, …) read them from `join(__dirname, 'lua')`, so copy them to the
 * matching dist-bench folders. Returns the number of files copied.
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

/** Writes `md` to bench/results/`fileName` (creating the folder) and returns its path. */
export function writeResults(fileName: string, md: string): string {
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, fileName);
  writeFileSync(file, md);
  return file;
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

/**
 * One line describing the machine. Each benchmark keeps the line its committed results were
 * written with: `cache` adds free memory and the OS; `coord` uses the cores available to this
 * process and adds the load average at start.
 */
export function machineLine(style: 'cache' | 'coord', redisVersion = redisServerVersion()): string {
  const gib = (bytes: number): string => (bytes / 1024 ** 3).toFixed(1);
  const model = cpus()[0]?.model;
  if (style === 'cache')
    return (
      `Machine: ${model ?? 'unknown CPU'}, ${cpus().length} cores, ` +
      `${gib(totalmem())} GiB RAM (${gib(freemem())} GiB free), ` +
      `${platform()} ${release()}, Node ${process.version}, redis-server ${redisVersion}`
    );
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
  return (
    `Machine: ${model?.replace(/\s+/g, ' ').trim() ?? 'unknown CPU'}, ${availableParallelism()} cores, ` +
    `${gib(totalmem())} GiB RAM, Linux ${release()}; ` +
    `Node ${process.version}; redis-server ${redisVersion}; ` +
    `load average at start ${load} (1/5/15 min)`
  );
}

// --- process bookkeeping: nothing outlives the run -----------------------------------------

const liveChildren = new Set<ChildProcess>();
const liveRedis = new Set<RedisServerProcess>();

export function killEverything(): void {
  for (const c of liveChildren) c.kill('SIGKILL');
  for (const r of liveRedis) void r.kill();
}

/** In the runner: server children are killed on exit; SIGINT/SIGTERM kill everything, exit 130. */
export function installCleanupHandlers(): void {
  process.on('exit', () => {
    for (const c of liveChildren) c.kill('SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      killEverything();
      process.exit(130);
    });
  }
}

/** Ends the whole run (exit 2) after `maxRunS`, once `report` has said so. */
export function startWatchdog(maxRunS: number, report: () => void): void {
  const watchdog = setTimeout(() => {
    report();
    killEverything();
    process.exit(2);
  }, maxRunS * 1000);
  watchdog.unref();
}

// --- the server child process ---------------------------------------------------------

/**
 * Forks `serverJs` with PATH, HOME, NODE_ENV=development and `env` only, and waits (30 s at
 * most) for its IPC `{ type: 'ready', port }`. `execArgv`: Node options added to
 * `--no-warnings` (e.g. `--cpu-prof`, which NODE_OPTIONS does not allow).
 */
export async function startChild(
  serverJs: string,
  env: Record<string, string>,
  { execArgv = [] }: { execArgv?: string[] } = {},
): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(serverJs, [], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: 'development',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    execArgv: ['--no-warnings', ...execArgv],
  });
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${stderr}`)), 30_000);
    child.on('message', (m: { type?: string; port?: number }) => {
      if (m?.type === 'ready' && typeof m.port === 'number') {
        clearTimeout(timer);
        resolvePort(m.port);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before it was ready:\n${stderr}`));
    });
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

/** SIGTERM, SIGKILL after `killAfterMs` (5 s); resolves once the child has exited. */
export async function stopChild(child: ChildProcess, killAfterMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  await exited;
  clearTimeout(timer);
}

// --- private redis-server ------------------------------------------------------------------

export interface PrivateRedis {
  server: RedisServerProcess;
  url: string;
  /** A connection of its own for INFO / FLUSHALL (not the one under test). */
  admin: Redis;
  /** Disconnects `admin`, stops the server, removes its folder. Idempotent. */
  stop(): Promise<void>;
}

/** A fresh redis-server on a free loopback port, no persistence, data in a new temp folder. */
export async function startPrivateRedis(dirPrefix: string): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), dirPrefix));
  const server = new RedisServerProcess({ binary: REDIS_SERVER_BINARY, dir, appendonly: false });
  liveRedis.add(server);
  let admin: Redis | undefined;
  const stop = async (): Promise<void> => {
    admin?.disconnect();
    await server.stop();
    liveRedis.delete(server);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await server.start();
    if (server.port === 6379) throw new Error('refusing to use port 6379');
    admin = new Redis(server.url, { maxRetriesPerRequest: 1, lazyConnect: true });
    await admin.connect();
    return { server, url: server.url, admin, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * A private redis-server, and `serverJs` forked against it (`REDIS_URL` set, then `env`), for
 * `fn`; both are stopped afterwards, however `fn` ends.
 */
export async function withServerOnPrivateRedis<T>(
  dirPrefix: string,
  serverJs: string,
  env: Record<string, string>,
  fn: (s: { url: string; child: ChildProcess; redis: PrivateRedis }) => Promise<T>,
): Promise<T> {
  const redis = await startPrivateRedis(dirPrefix);
  let child: ChildProcess | undefined;
  try {
    const started = await startChild(serverJs, { REDIS_URL: redis.url, ...env });
    child = started.child;
    return await fn({ url: started.url, child, redis });
  } finally {
    if (child) await stopChild(child);
    await redis.stop();
  }
}
