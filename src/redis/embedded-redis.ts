import { Logger } from '@nestjs/common';
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { join, resolve } from 'node:path';
import {
  currentProcess,
  isAlive,
  parseIdentity,
  pidAlive,
  ProcessIdentity,
  sameProcess,
  sleep,
} from '../common';

/**
 * Thrown when the data directory's redis-server belongs to another process that is still
 * running: it is never stopped from here.
 */
export class RedisServerInUseError extends Error {
  constructor(dir: string, redisPid: number, owner: ProcessIdentity) {
    super(
      `The redis-server in ${dir} (pid ${redisPid}) belongs to process ${owner.pid}, which is still running; it is left alone. ` +
        'Stop that process first, or give this one another data directory (DATA_DIR) or REDIS_URL.',
    );
    this.name = 'RedisServerInUseError';
  }
}

/** Thrown when no redis-server binary can be found: the message says how to get one. */
export class RedisServerNotFoundError extends Error {
  constructor() {
    super(
      [
        'No REDIS_URL is set and no redis-server binary was found on PATH (or at REDIS_SERVER_BIN), so the embedded development Redis cannot start.',
        'Do one of:',
        '  - install Redis ≥ 7: `sudo apt-get install redis-server` (Debian/Ubuntu), `brew install redis` (macOS), `sudo dnf install redis` (Fedora);',
        '  - run one with Docker: `docker compose up -d redis` and set REDIS_URL=redis://127.0.0.1:6379;',
        '  - point the app at an existing server: REDIS_URL=redis://host:6379.',
      ].join('\n'),
    );
    this.name = 'RedisServerNotFoundError';
  }
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/** Sends PING over a raw socket; resolves true on +PONG. */
export function pingRedis(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((done) => {
    const sock = new Socket();
    const finish = (ok: boolean) => {
      sock.destroy();
      done(ok);
    };
    sock.setTimeout(timeoutMs, () => finish(false));
    sock.once('error', () => finish(false));
    sock.connect(port, host, () => sock.write('PING\r\n'));
    sock.once('data', (d) => finish(d.toString().startsWith('+PONG')));
  });
}

function isRedisProcess(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis-server');
  } catch {
    return false;
  }
}

async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  stepMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(stepMs);
  }
  return check();
}

export interface RedisServerOptions {
  /**
   * The `redis-server` executable (the composition root resolves it: `REDIS_SERVER_BIN` or the
   * first one on `PATH`); undefined: start() fails with {@link RedisServerNotFoundError}.
   */
  binary: string | undefined;
  /** Working directory (AOF, pid file, log). Created if missing. */
  dir: string;
  port?: number;
  /** Port to try first (e.g. the one of the previous run); a free one if it is taken. */
  preferredPort?: number;
  /** Persist with AOF (default true). */
  appendonly?: boolean;
  /** Extra `redis-server` arguments, e.g. `['--cluster-enabled', 'yes']`. */
  args?: string[];
  /** A config file, passed first as redis-server requires (Sentinel needs one it can rewrite). */
  configFile?: string;
  /** Kill the server if this Node process dies without stopping it (default true). */
  watchdog?: boolean;
  /** Called once the server's process is spawned (before it answers), e.g. to start other work meanwhile. */
  onSpawn?: () => void;
  readyTimeoutMs?: number;
}

/**
 * A private `redis-server` child process: loopback only, a free port, `noeviction`, data in
 * `dir`. Used by the app in development (no REDIS_URL) and by the test harness.
 *
 * No orphans: `stop()` runs on normal shutdown and on SIGINT/SIGTERM (see src/bootstrap.ts);
 * a tiny watchdog shell kills the server if this process dies without stopping it (SIGKILL,
 * crash); and a server left behind by an earlier run in the same `dir` (pid file) is stopped
 * before a new one starts — unless the process that started it (`redis.owner`) still runs, in
 * which case start() fails with {@link RedisServerInUseError} and stops nothing.
 */
export class RedisServerProcess {
  private child?: ChildProcess;
  private watchdogChild?: ChildProcess;
  port = 0;

  constructor(private readonly options: RedisServerOptions) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<this> {
    const binary = this.options.binary;
    if (!binary) throw new RedisServerNotFoundError();
    const dir = resolve(this.options.dir);
    mkdirSync(dir, { recursive: true });
    await this.stopLeftover(dir);

    let lastError = '';
    for (let attempt = 0; attempt < 5; attempt++) {
      this.port =
        this.options.port ??
        (attempt === 0 && this.options.preferredPort ? this.options.preferredPort : undefined) ??
        (await freePort());
      const args = [
        ...(this.options.configFile ? [this.options.configFile] : []),
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--protected-mode',
        'yes',
        '--dir',
        dir,
        '--pidfile',
        join(dir, 'redis.pid'),
        '--logfile',
        join(dir, 'redis.log'),
        '--daemonize',
        'no',
        '--save',
        '',
        '--appendonly',
        this.options.appendonly === false ? 'no' : 'yes',
        '--maxmemory-policy',
        'noeviction',
        ...(this.options.args ?? []),
      ];
      // Own process group: a terminal's Ctrl-C reaches the app, which then closes its
      // connections and stops this server itself, in that order.
      const child = spawn(binary, args, { stdio: 'ignore', detached: true });
      this.child = child;
      this.options.onSpawn?.();
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      const ready = waitFor(() => pingRedis(this.port), this.options.readyTimeoutMs ?? 30_000);
      const outcome = await Promise.race([
        ready.then((ok) => (ok ? 'ready' : 'timeout')),
        exited.then(() => 'exited'),
      ]);
      if (outcome === 'ready') {
        writeFileSync(join(dir, 'redis.owner'), JSON.stringify(currentProcess()));
        if (this.options.watchdog !== false) this.startWatchdog(child.pid!);
        return this;
      }
      child.kill('SIGKILL');
      lastError = readLogTail(join(dir, 'redis.log'));
      if (this.options.port !== undefined || !/address already in use/i.test(lastError)) break;
    }
    throw new Error(`redis-server did not start (dir ${dir}):\n${lastError}`);
  }

  /** SIGTERM (Redis flushes the AOF and exits), SIGKILL after `graceMs`. Idempotent. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    this.watchdogChild?.kill('SIGKILL');
    this.watchdogChild = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    rmSync(join(resolve(this.options.dir), 'redis.owner'), { force: true });
  }

  /** Kills the server without letting it save (a crash, for failure tests). */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await exited;
  }

  private startWatchdog(redisPid: number): void {
    const script =
      'while kill -0 "$1" 2>/dev/null; do sleep 1; done; ' +
      'grep -q redis-server "/proc/$2/cmdline" 2>/dev/null && kill -TERM "$2"';
    const w = spawn(
      '/bin/sh',
      ['-c', script, 'redis-watchdog', String(process.pid), String(redisPid)],
      {
        stdio: 'ignore',
        detached: true,
      },
    );
    w.unref();
    this.watchdogChild = w;
  }

  private async stopLeftover(dir: string): Promise<void> {
    const pidFile = join(dir, 'redis.pid');
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && pidAlive(pid) && isRedisProcess(pid)) {
      const owner = readOwner(join(dir, 'redis.owner'));
      if (owner && isAlive(owner) && !sameProcess(owner, currentProcess()))
        throw new RedisServerInUseError(dir, pid, owner);
      new Logger('EmbeddedRedis').warn(
        `stopping redis-server left over from an earlier run (pid ${pid})`,
      );
      process.kill(pid, 'SIGTERM');
      if (!(await waitFor(() => !pidAlive(pid), 10_000))) process.kill(pid, 'SIGKILL');
    }
    rmSync(pidFile, { force: true });
  }
}

function readOwner(file: string): ProcessIdentity | undefined {
  try {
    return parseIdentity(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    return undefined;
  }
}

function readLogTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}
