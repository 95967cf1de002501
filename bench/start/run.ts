/**
 * Start benchmark (issue 13): how long the built app (`dist/main.js`, no other environment)
 * takes from spawn to `GET /health/ready` answering 200, the app process's resident memory
 * (VmRSS, all its threads: the PGlite thread included; its embedded redis-server child is a
 * process of its own, not counted) at that moment, and the CPU time it used until then (user +
 * system, all threads): on a shared machine the wall time follows the neighbours' load, the CPU
 * time much less.
 *
 * Variants, interleaved round by round:
 * - `pglite-fresh`: a new, empty DATA_DIR (embedded redis-server + PGlite on disk): the first
 *   `npm start` on a machine after `npm ci`.
 * - `pglite-existing`: the same DATA_DIR started again (the everyday restart).
 * - `postgres`: DATABASE_URL set to a PostgreSQL server (BENCH_DATABASE_URL, default the
 *   machine's 127.0.0.1:5432/test), a schema of its own; skipped when none answers.
 *
 * The PGlite template (node_modules/.cache/nest-redis-patterns/: the archive and the directory)
 * is made before the first round, as `npm run build` leaves it; BENCH_NO_TEMPLATE=1 deletes it
 * before every fresh start instead, to show what initdb in process costs.
 *
 *   npm run bench:start                 # 5 rounds, ≈ 1 minute
 *   BENCH_ROUNDS=1 npm run bench:start  # smoke run
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { pgliteTemplateDir, pgliteTemplateFile, preparePgliteTemplate } from '../../src/database';
import { freePort } from '../../src/redis';
import { machineLine, ROOT, stopChild, writeResults } from '../lib/runner';
import { median, num, sleep } from '../lib/util';

const ROUNDS = Math.round(num('BENCH_ROUNDS', 5, 1));
const READY_TIMEOUT_MS = 60_000;
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const NO_TEMPLATE = process.env.BENCH_NO_TEMPLATE === '1';

type Variant = 'pglite-fresh' | 'pglite-existing' | 'postgres';
interface Sample {
  readyMs: number;
  rssMiB: number;
  cpuMs: number;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

/** User + system CPU time of a process so far, all its threads (/proc/<pid>/stat, clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Spawns dist/main.js with `env` (and nothing else of ours), times it to ready, reads its RSS. */
async function startOnce(env: Record<string, string>): Promise<Sample> {
  const port = await freePort();
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
  };
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'main.js')], {
    cwd: ROOT,
    env: { ...base, PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  try {
    const deadline = t0 + READY_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`app exited ${child.exitCode}: ${stderr}`);
      if (performance.now() > deadline)
        throw new Error(`not ready within ${READY_TIMEOUT_MS} ms: ${stderr}`);
      const ok = await fetch(`http://127.0.0.1:${port}/health/ready`)
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) break;
      await sleep(20);
    }
    const readyMs = performance.now() - t0;
    return { readyMs, rssMiB: rssMiB(child.pid!), cpuMs: cpuMs(child.pid!) };
  } finally {
    await stopChild(child, 15_000); // PGlite flushes to disk on SIGTERM: the next start reuses it
  }
}

async function postgresAnswers(): Promise<boolean> {
  const c = new Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const machine = machineLine('coord');
  console.log(machine);
  if (!NO_TEMPLATE) await preparePgliteTemplate(); // as `npm run build` leaves it
  const withPg = await postgresAnswers();
  if (!withPg) console.log(`no PostgreSQL at ${PG_URL}: the postgres variant is skipped`);
  const samples: Record<Variant, Sample[]> = {
    'pglite-fresh': [],
    'pglite-existing': [],
    postgres: [],
  };
  const dirs: string[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const dataDir = mkdtempSync(join(tmpdir(), 'nrp-bench-start-'));
      dirs.push(dataDir);
      if (NO_TEMPLATE) {
        rmSync(pgliteTemplateFile(), { force: true });
        rmSync(pgliteTemplateDir(), { recursive: true, force: true });
      }
      const order: Variant[] =
        round % 2
          ? ['pglite-fresh', 'pglite-existing', 'postgres']
          : ['postgres', 'pglite-fresh', 'pglite-existing'];
      for (const v of order) {
        if (v === 'postgres') {
          if (!withPg) continue;
          const schema = `bench_start_${randomBytes(4).toString('hex')}`;
          const s = await startOnce({
            DATA_DIR: dataDir,
            DATABASE_URL: PG_URL,
            DATABASE_SCHEMA: schema,
          });
          samples.postgres.push(s);
          const c = new Client({ connectionString: PG_URL });
          await c.connect();
          await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          await c.end();
        } else {
          samples[v].push(await startOnce({ DATA_DIR: dataDir }));
        }
        const last = samples[v].at(-1)!;
        console.log(
          `round ${round} ${v}: ready in ${last.readyMs.toFixed(0)} ms, RSS ${last.rssMiB.toFixed(0)} MiB, CPU ${last.cpuMs.toFixed(0)} ms (load ${loadavg()[0].toFixed(2)})`,
        );
      }
    }
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
  const cell = (xs: number[]) =>
    `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;
  const rows = (Object.keys(samples) as Variant[])
    .filter((v) => samples[v].length > 0)
    .map((v) => {
      const s = samples[v];
      return `| ${v} | ${cell(s.map((x) => x.readyMs))} | ${cell(s.map((x) => x.rssMiB))} | ${cell(s.map((x) => x.cpuMs))} |`;
    });
  const loadAtEnd = loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
  const md = [
    `# bench:start — ${new Date().toISOString()}`,
    '',
    machine,
    '',
    `${ROUNDS} rounds, variants interleaved; medians (min–max). Target (issue 13): ≤ 2000 ms and ≤ 300 MiB on a fresh directory.${NO_TEMPLATE ? ' BENCH_NO_TEMPLATE=1: initdb in process on every fresh start.' : ''}`,
    '',
    '| Start | spawn → /health/ready 200 (ms) | app RSS at ready (MiB) | app CPU until ready (ms) |',
    '|---|---|---|---|',
    ...rows,
    '',
    `Load average at the end: ${loadAtEnd} (1/5/15 min).`,
    '',
  ].join('\n');
  console.log(`\n${md}`);
  const file = writeResults(NO_TEMPLATE ? 'start-no-template.md' : 'start-latest.md', md);
  console.log(`written to ${file}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
