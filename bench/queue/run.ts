/**
 * Queue benchmark: enqueue → complete throughput, p99 latency and Redis commands per job for
 * raw BullMQ (Queue + Worker with exactly our module's default job and worker options), our
 * QueueModule (a Nest application context with QueueModule.forRoot, metrics on, a trivial
 * @Processor) and ListQueue (the from-scratch list queue), at several worker concurrencies.
 *
 * Each run is a child process (bench/queue/child.ts) against a fresh private redis-server on a
 * free loopback port; producer and worker share the child, the producer keeping 2 × concurrency
 * jobs outstanding. Rounds interleave the variants (rotated order each round); figures are
 * medians across rounds, ratios medians of per-round ratios. Prints a markdown table and writes
 * it to bench/results/queue-latest.md.
 *
 *   npm run bench:queue                                         # ≈ 3–5 minutes
 *   BENCH_ROUNDS=1 BENCH_JOBS=1000 npm run bench:queue          # smoke run
 *   BENCH_CPU_PROF_DIR=/tmp/qprof BENCH_VARIANTS=ours npm run bench:queue
 *       # a CPU profile of each child's measured jobs (inspector; start-up and warm-up excluded);
 *       # summarize one with node dist-bench/bench/auth/profile.js <file>
 *
 * Settings (environment, defaults in brackets): BENCH_ROUNDS [3], BENCH_CONCURRENCIES [1,10,50],
 * BENCH_VARIANTS [raw,raw-app,ours,list], BENCH_JOBS [5000] measured jobs per run, BENCH_JOBS_C1 [1000]
 * at concurrency 1, BENCH_WARMUP_JOBS [500], BENCH_RUN_TIMEOUT_S [180], BENCH_MAX_RUN_S [1800],
 * BENCH_CPU_PROF_DIR [unset], BENCH_RESULTS_FILE [queue-latest.md], BENCH_DEFAULT_METRICS [on]
 * (`off`: our module's app without prom-client's default metrics, to measure what they cost).
 * Variants: `raw` BullMQ alone in its process, `raw-app` raw BullMQ in a process that also holds
 * our module's app context (producers only), `ours`, `list`. Ours is compared with both raw ones.
 */
import type { ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import {
  copyLuaAssets,
  installCleanupHandlers,
  killEverything,
  machineLine,
  startChild,
  startPrivateRedis,
  startWatchdog,
  stopChild,
  writeResults,
} from '../lib/runner';
import { median, num } from '../lib/util';
import type { RunResult, Variant } from './child';

const ROUNDS = Math.round(num('BENCH_ROUNDS', 3, 1));
const CONCURRENCIES = (process.env.BENCH_CONCURRENCIES ?? '1,10,50')
  .split(',')
  .map((s) => Math.round(Number(s.trim())))
  .filter((n) => n >= 1);
const VARIANTS = (process.env.BENCH_VARIANTS ?? 'raw,raw-app,ours,list')
  .split(',')
  .map((s) => s.trim())
  .filter((s): s is Variant => ['raw', 'raw-app', 'ours', 'list'].includes(s));
const JOBS = Math.round(num('BENCH_JOBS', 5000, 10));
const JOBS_C1 = Math.round(num('BENCH_JOBS_C1', Math.min(1000, JOBS), 10));
const WARMUP = Math.round(num('BENCH_WARMUP_JOBS', 500, 0));
const RUN_TIMEOUT_S = num('BENCH_RUN_TIMEOUT_S', 180, 5);
const MAX_RUN_S = num('BENCH_MAX_RUN_S', 1800, 10);
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF_DIR;
const CHILD_JS = join(__dirname, 'child.js');

const LABEL: Record<Variant, string> = {
  raw: 'raw BullMQ 6.7 (Queue + Worker, same options)',
  'raw-app': 'raw BullMQ 6.7, in a process holding our app context',
  ours: 'ours: QueueModule (Nest context, metrics on)',
  list: 'ListQueue (from scratch)',
};

installCleanupHandlers();
const log = (msg: string): void => {
  process.stderr.write(`[bench:queue ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};

async function measure(variant: Variant, concurrency: number): Promise<RunResult> {
  const redis = await startPrivateRedis('nrp-queue-redis-');
  let child: ChildProcess | undefined;
  try {
    const started = await startChild(CHILD_JS, {
      REDIS_URL: redis.url,
      BENCH_VARIANT: variant,
      BENCH_CONCURRENCY: String(concurrency),
      BENCH_JOBS: String(concurrency === 1 ? JOBS_C1 : JOBS),
      BENCH_WARMUP_JOBS: String(WARMUP),
      ...(CPU_PROF_DIR ? { BENCH_CPU_PROF_DIR: resolve(CPU_PROF_DIR) } : {}),
      ...Object.fromEntries(
        ['BENCH_DEFAULT_METRICS'].filter((k) => process.env[k]).map((k) => [k, process.env[k]!]),
      ),
    });
    child = started.child;
    const c = child;
    const result = await new Promise<RunResult>((resolveRun, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${variant} c=${concurrency}: no result in ${RUN_TIMEOUT_S} s`)),
        RUN_TIMEOUT_S * 1000,
      );
      c.on('message', (m: { type?: string }) => {
        if (m?.type !== 'result') return;
        clearTimeout(timer);
        resolveRun(m as RunResult);
      });
      c.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${variant} c=${concurrency}: child exited ${code} before its result`));
      });
      c.send({ type: 'go' });
    });
    if (CPU_PROF_DIR)
      log(`  profile of ${variant} c=${concurrency}: pid ${c.pid} in ${CPU_PROF_DIR}`);
    return result;
  } finally {
    if (child) await stopChild(child);
    await redis.stop();
  }
}

const fmt = (x: number, digits = 0): string =>
  !Number.isFinite(x)
    ? 'n/a'
    : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const throughput = (r: RunResult): number => (r.jobs * 1000) / r.elapsedMs;

function perJob(rs: RunResult[]): string {
  const jobs = rs.reduce((a, r) => a + r.jobs, 0);
  const by = new Map<string, number>();
  for (const r of rs) for (const [cmd, n] of r.byCommand) by.set(cmd, (by.get(cmd) ?? 0) + n);
  const total = rs.reduce((a, r) => a + r.commands, 0);
  const parts = [...by.entries()]
    .map(([cmd, n]) => [cmd, n / jobs] as const)
    .filter(([, per]) => per >= 0.005)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([cmd, per]) => `${cmd} ${per.toFixed(2)}`);
  return `${(total / jobs).toFixed(2)} (${parts.join(', ')})`;
}

async function main(): Promise<void> {
  const started = Date.now();
  startWatchdog(MAX_RUN_S, () => log(`watchdog: the run took over ${MAX_RUN_S} s, giving up`));
  log(`copied ${copyLuaAssets()} Lua files into dist-bench`);
  const machine = machineLine('coord');
  const results = new Map<string, RunResult[]>();
  const key = (v: Variant, c: number) => `${v}@${c}`;
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of CONCURRENCIES) {
      const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]);
      for (const v of order) {
        const r = await measure(v, c);
        log(
          `round ${round + 1}/${ROUNDS} c=${c} ${v}: ${fmt(throughput(r))} jobs/s, p99 ${fmt(r.p99Ms, 2)} ms, ${(r.commands / r.jobs).toFixed(2)} cmds/job`,
        );
        results.set(key(v, c), [...(results.get(key(v, c)) ?? []), r]);
      }
    }
  }

  const rows: string[] = [];
  const summary: string[] = [];
  for (const c of CONCURRENCIES) {
    const raw = results.get(key('raw', c)) ?? [];
    for (const v of VARIANTS) {
      const rs = results.get(key(v, c)) ?? [];
      const tps = rs.map(throughput);
      // Per-round ratio against the raw run of the same round (same position in the loop).
      const ratios = rs.map((r, i) => (raw[i] ? throughput(r) / throughput(raw[i]) : NaN));
      const p99Ratios = rs.map((r, i) => (raw[i] ? r.p99Ms / raw[i].p99Ms : NaN));
      const ratio = median(ratios);
      rows.push(
        `| ${c} | ${LABEL[v]} | ${fmt(median(tps))} jobs/s (${fmt(Math.min(...tps))}–${fmt(Math.max(...tps))}) | ${fmt(median(rs.map((r) => r.p99Ms)), 2)} ms | ${fmt(median(rs.map((r) => r.p50Ms)), 2)} ms | ${v === 'raw' ? '1.00×' : `${ratio.toFixed(2)}×`} | ${v === 'raw' ? '1.00×' : `${median(p99Ratios).toFixed(2)}×`} | ${perJob(rs)} | ${fmt(median(rs.map((r) => (r.redisCpuMs * 1000) / r.jobs)), 1)} µs | ${fmt(median(rs.map((r) => (r.nodeCpuMs * 1000) / r.jobs)), 1)} µs | ${rs.length} × ${rs[0]?.jobs ?? 0} |`,
      );
      if (v !== 'raw')
        summary.push(
          `c=${c}: ${v === 'ours' ? 'ours' : v === 'list' ? 'ListQueue' : 'raw BullMQ in an app process'} / raw BullMQ = ${ratio.toFixed(2)}× throughput (rounds: ${ratios.map((x) => x.toFixed(2)).join(', ')}), p99 ${median(p99Ratios).toFixed(2)}×`,
        );
    }
    // Like for like: ours against raw BullMQ in a process that holds the same app context.
    const rawApp = results.get(key('raw-app', c)) ?? [];
    const ours = results.get(key('ours', c)) ?? [];
    if (rawApp.length && ours.length) {
      const r = ours.map((o, i) => (rawApp[i] ? throughput(o) / throughput(rawApp[i]) : NaN));
      summary.push(
        `c=${c}: ours / raw BullMQ in an app process = ${median(r).toFixed(2)}× throughput (rounds: ${r.map((x) => x.toFixed(2)).join(', ')})`,
      );
    }
  }
  const md = [
    '# Queue benchmark (`npm run bench:queue`)',
    '',
    machine,
    '',
    `Run: ${new Date(started).toISOString()}, ${ROUNDS} round(s), variants interleaved (rotated order each round); each run a fresh child process and a fresh private redis-server; ${WARMUP} warm-up jobs, then ${JOBS} measured jobs (${JOBS_C1} at concurrency 1); producer and worker in the same child, the producer keeping 2 × concurrency jobs outstanding (closed loop); latency = enqueue call → completion stored (BullMQ worker \`completed\` event / ListQueue \`complete\` resolved); whole run ${Math.round((Date.now() - started) / 1000)} s${CPU_PROF_DIR ? ' (PROFILED: figures not comparable)' : ''}.`,
    '',
    'Options of raw BullMQ = our module defaults (read from the same resolved options): attempts 3, exponential backoff 2 s with jitter 0.5, removeOnComplete {count 1000, age 7 d}, removeOnFail {count 10000, age 7 d}, prefix `{bench:email}`, lockDuration = stalledInterval = 30 s, concurrency c. ListQueue: defaults (visibility timeout 30 s, maxRetries 3), one blocking connection per worker, reaper every 1 s.',
    '',
    '| Concurrency | Variant | Throughput (median, min–max) | p99 latency | p50 latency | Throughput vs raw BullMQ | p99 vs raw BullMQ | Redis commands per job (INFO commandstats, in-script included) | Redis CPU per job | Node CPU per job (producer + worker) | Runs |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    'Ratios (medians of per-round ratios):',
    '',
    ...summary.map((s) => `- ${s}`),
    '',
  ].join('\n');
  process.stdout.write(`${md}\n`);
  const file = writeResults(process.env.BENCH_RESULTS_FILE ?? 'queue-latest.md', md);
  log(`wrote ${file}`);
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    log(err.stack ?? err.message);
    killEverything();
    process.exit(1);
  },
);
