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

// Generous: a built process on a loaded CI machine (PGlite initdb, several suites in parallel)
// can take tens of seconds to be ready; the tests assert readiness, not start-up speed.
export async function waitReady(url: string, p: Started, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (p.proc.exitCode !== null) throw new Error(`exited ${p.proc.exitCode}:\n${p.output()}`);
    if (await isReady(url)) return;
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
