import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * The built entry points (`node dist/main.js`, `node dist/worker.js`) as child processes, with
 * only the environment a test gives them. Run `npm run build` first (npm test does).
 */
export const DIST = resolve(__dirname, '../../dist');

export type Entry = 'main' | 'worker';

export interface Started {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

export function startEntry(entry: Entry, env: Record<string, string>): Started {
  if (!existsSync(join(DIST, `${entry}.js`)))
    throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  const proc = spawn(process.execPath, [join(DIST, `${entry}.js`)], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += String(d)));
  proc.stderr.on('data', (d) => (out += String(d)));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, output: () => out, exited };
}

export async function isReady(url: string): Promise<boolean> {
  return fetch(`${url}/health/ready`).then(
    (r) => r.status === 200,
    () => false,
  );
}

/**
 * Which of `candidates` holds the socket listening on TCP `port` (IPv4 or IPv6), from /proc;
 * undefined when none does, nothing listens there, or /proc cannot say (not Linux, or not ours
 * to inspect).
 */
export function listenerPid(port: number, candidates: number[]): number | undefined {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; st 0A is LISTEN; the inode is the tenth field.
      if (f.length > 9 && f[1].endsWith(`:${hexPort}`) && f[3] === '0A') inodes.add(f[9]);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const pid of candidates) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        const m = /^socket:\[(\d+)\]$/.exec(link);
        if (m && inodes.has(m[1])) return pid;
      }
    } catch {
      // gone, or a descriptor closed while reading
    }
  }
  return undefined;
}

/** Whether /proc lists listening sockets here (Linux), so a listener's owner can be checked. */
const procNetTcp = existsSync('/proc/net/tcp');

// Generous: a built process on a loaded CI machine (PGlite initdb, several suites in parallel)
// can take tens of seconds to be ready; the tests assert readiness, not start-up speed.
//
// Ready means ready *and ours*: the port comes from `freePort()` in the test, so between the
// probe's close and the child's listen, another suite's process can take it. A ready answer
// from that process once made a test talk to the wrong app (a worker's 404 for an API route).
// On Linux the listening socket must belong to the started process; if another process holds
// the port, this fails at once and says so.
export async function waitReady(url: string, p: Started, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const port = Number(new URL(url).port);
  const pid = p.proc.pid;
  // A function, not the property: the process can exit between two reads.
  const exitCode = (): number | null => p.proc.exitCode;
  while (Date.now() < deadline) {
    if (exitCode() !== null) throw new Error(`exited ${exitCode()}:\n${p.output()}`);
    if (await isReady(url)) {
      if (!procNetTcp || pid === undefined || listenerPid(port, [pid]) === pid) return;
      // Answered, but not by the started process: it may still be starting, or about to fail
      // with EADDRINUSE. Give it a moment to exit with its own error before reporting.
      await new Promise((r) => setTimeout(r, 1_000));
      if (exitCode() !== null) throw new Error(`exited ${exitCode()}:\n${p.output()}`);
      if (listenerPid(port, [pid]) === pid) return;
      throw new Error(
        `port ${port} answers /health/ready, but not from the started process (pid ${pid}): ` +
          `another process took the port between freePort() and the child's listen\n${p.output()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`not ready within ${timeoutMs} ms:\n${p.output()}`);
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function until(check: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return check();
}

/** Pids of the redis-server processes working in `dir` (redis-server chdirs to its `--dir`). */
export function redisServersIn(dir: string): number[] {
  const target = resolve(dir);
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('redis-server')) continue;
      if (readlinkSync(`/proc/${entry}/cwd`) === target) pids.push(Number(entry));
    } catch {
      // gone, or not ours to inspect
    }
  }
  return pids;
}

/** Starts entry points and temp dirs for one suite; `cleanup()` in afterAll kills and removes them. */
export function processGroup(prefix = 'nrp-proc-') {
  const started: Started[] = [];
  const dirs: string[] = [];
  return {
    run: (entry: Entry, env: Record<string, string>): Started => {
      const s = startEntry(entry, env);
      started.push(s);
      return s;
    },
    tempDir: (): string => {
      const d = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
    cleanup: async (): Promise<void> => {
      for (const s of started) if (s.proc.exitCode === null) s.proc.kill('SIGKILL');
      await Promise.all(started.map((s) => s.exited));
      for (const d of dirs) {
        // A killed owner's watchdog stops its redis-server within about a second.
        await until(() => redisServersIn(join(d, 'redis')).length === 0, 5_000);
        rmSync(d, { recursive: true, force: true });
      }
    },
  };
}
