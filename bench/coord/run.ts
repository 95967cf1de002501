/**
 * Coordination benchmark: our LockService vs redlock 5, and our rate-limit guard vs
 * @nestjs/throttler + @nest-lab/throttler-storage-redis vs no limiter, each against a private
 * redis-server on 127.0.0.1. One run; every round runs every scenario with its variants
 * interleaved (a rotated order each round); figures are medians across rounds, ratios are
 * medians of per-round ratios. Prints one markdown table and writes it to
 * bench/results/coord-latest.md.
 *
 *   npm run bench:coord                                    # default, ≈ 6 minutes
 *   BENCH_DURATION_S=2 BENCH_ROUNDS=1 npm run bench:coord  # smoke run, ≈ 1.5 minutes
 *
 * Settings (environment, defaults in brackets):
 * - BENCH_ROUNDS [3]; BENCH_DURATION_S [5] per lock throughput run; BENCH_WARMUP_S [1] lock
 *   warm-up per variant and test before the first round; BENCH_LOCK_TTL_MS [10000];
 *   BENCH_LOCK_CONCURRENCY [50] resources of test 1b.
 * - BENCH_USING_PARALLEL [10] sections at once, BENCH_USING_BATCHES [2] per variant and round,
 *   BENCH_USING_TTL_MS [300], BENCH_USING_WORK_MS [1000], BENCH_REDLOCK_THRESHOLD_MS [200]
 *   (redlock's automaticExtensionThreshold; must be ≤ ttl − 100).
 * - BENCH_RL_DURATION_S [4 × BENCH_DURATION_S] per measured HTTP run, BENCH_RL_WINDOW_MS
 *   [BENCH_RL_DURATION_S × 1000 / 4: each run spans 4 full windows], BENCH_RL_LIMIT [10000000]
 *   (not reached), BENCH_RL_LOW_LIMIT [1000] (the limit-reached run), BENCH_HTTP_WARMUP_S [2],
 *   BENCH_CONNECTIONS [50] autocannon connections.
 * - BENCH_SCENARIOS [locks,using,ratelimit,limited]; BENCH_MAX_RUN_S [1200], a watchdog that
 *   ends the whole run; BENCH_RESULTS_FILE [coord-latest.md] in bench/results (a run of some
 *   scenarios only should not replace the complete table: e.g. coord-locks-latest.md).
 */
import autocannon from 'autocannon';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { RedisDelta, redisDelta, redisSnapshot } from '../lib/redis-cost';
import {
  copyLuaAssets,
  installCleanupHandlers,
  killEverything,
  machineLine,
  PrivateRedis,
  startChild,
  startPrivateRedis,
  startWatchdog,
  stopChild,
  writeResults,
} from '../lib/runner';
import { median, num } from '../lib/util';
import { LockBench, LockRun, LockVariant, redlockDefaultUsingError, UsingRun } from './locks';

// --- settings ------------------------------------------------------------------------------

const ROUNDS = Math.round(num('BENCH_ROUNDS', 3, 1));
const DURATION_S = num('BENCH_DURATION_S', 5, 0.5);
const WARMUP_S = num('BENCH_WARMUP_S', Math.min(1, DURATION_S), 0);
const LOCK_TTL_MS = Math.round(num('BENCH_LOCK_TTL_MS', 10_000, 100));
const LOCK_CONCURRENCY = Math.round(num('BENCH_LOCK_CONCURRENCY', 50, 2));
const USING_PARALLEL = Math.round(num('BENCH_USING_PARALLEL', 10, 1));
const USING_BATCHES = Math.round(num('BENCH_USING_BATCHES', 2, 1));
const USING_TTL_MS = Math.round(num('BENCH_USING_TTL_MS', 300, 150));
const USING_WORK_MS = Math.round(num('BENCH_USING_WORK_MS', 1000, 1));
const REDLOCK_THRESHOLD_MS = Math.round(num('BENCH_REDLOCK_THRESHOLD_MS', 200, 1));
const RL_DURATION_S = num('BENCH_RL_DURATION_S', 4 * DURATION_S, 1);
const RL_WINDOW_MS = Math.round(num('BENCH_RL_WINDOW_MS', (RL_DURATION_S * 1000) / 4, 1));
const RL_LIMIT = Math.round(num('BENCH_RL_LIMIT', 10_000_000, 1));
const RL_LOW_LIMIT = Math.round(num('BENCH_RL_LOW_LIMIT', 1000, 1));
const HTTP_WARMUP_S = num('BENCH_HTTP_WARMUP_S', Math.min(2, RL_DURATION_S), 0);
const CONNECTIONS = Math.round(num('BENCH_CONNECTIONS', 50, 1));
const MAX_RUN_S = num('BENCH_MAX_RUN_S', 1200, 10);
const SCENARIOS = new Set(
  (process.env.BENCH_SCENARIOS ?? 'locks,using,ratelimit,limited').split(',').map((s) => s.trim()),
);

if (REDLOCK_THRESHOLD_MS > USING_TTL_MS - 100)
  throw new Error('BENCH_REDLOCK_THRESHOLD_MS must be ≤ BENCH_USING_TTL_MS − 100 (redlock rule)');

const SERVER_JS = join(__dirname, 'server.js');
const REDIS_DIR_PREFIX = 'nrp-coord-redis-';

// --- process bookkeeping -------------------------------------------------------------------

installCleanupHandlers();

const log = (msg: string): void => {
  process.stderr.write(`[bench:coord ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};

// --- formatting ----------------------------------------------------------------------------

const fmt = (x: number, digits = 0): string =>
  !Number.isFinite(x)
    ? 'n/a'
    : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ratio = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}×` : 'n/a');
const range = (v: number[], digits = 0): string =>
  v.length > 1 ? ` (${fmt(Math.min(...v), digits)}–${fmt(Math.max(...v), digits)})` : '';
const seconds = (ms: number): string => `${fmt(ms / 1000, ms % 1000 === 0 ? 0 : 1)} s`;

/** Sum of several deltas (commands, per command, CPU, bytes). */
function sumDeltas(ds: RedisDelta[]): RedisDelta {
  const byCommand = new Map<string, number>();
  for (const d of ds)
    for (const [k, v] of d.byCommand) byCommand.set(k, (byCommand.get(k) ?? 0) + v);
  return {
    commands: ds.reduce((a, d) => a + d.commands, 0),
    scripts: ds.reduce((a, d) => a + d.scripts, 0),
    byCommand,
    cpuMs: ds.reduce((a, d) => a + d.cpuMs, 0),
    netInBytes: ds.reduce((a, d) => a + d.netInBytes, 0),
  };
}

/** "5.00 (evalsha 1.00, hset 1.00, …)" per operation, largest first. */
function perOpBreakdown(d: RedisDelta, ops: number): string {
  if (ops <= 0) return 'n/a';
  const parts = [...d.byCommand.entries()]
    .map(([cmd, n]) => [cmd, n / ops] as const)
    .filter(([, per]) => per >= 0.005)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([cmd, per]) => `${cmd} ${per.toFixed(2)}`);
  return `${(d.commands / ops).toFixed(2)} (${parts.join(', ')})`;
}

function costPerOp(
  d: RedisDelta,
  ops: number,
  nodeCpuMs?: number,
  nodeLabel = 'server CPU',
): string {
  if (ops <= 0) return 'n/a';
  const parts = [
    `Redis CPU ${fmt((d.cpuMs * 1000) / ops, 1)} µs`,
    `${fmt(d.netInBytes / ops)} B to Redis`,
  ];
  if (nodeCpuMs !== undefined) parts.push(`${nodeLabel} ${fmt((nodeCpuMs * 1000) / ops, 1)} µs`);
  return parts.join(' · ');
}

// --- 1. lock throughput --------------------------------------------------------------------

type LockTest = 'seq' | 'conc';
interface LockSample {
  run: LockRun;
  redis: RedisDelta;
  /** CPU time (user + system) of this process during the run: the client side of the locks */
  clientCpuMs: number;
}
const lockSamples = new Map<string, LockSample[]>(); // `${test}:${variant}`

async function lockRun(
  bench: LockBench,
  redis: PrivateRedis,
  test: LockTest,
  variant: LockVariant,
  round: number,
): Promise<void> {
  const workers = test === 'seq' ? 1 : LOCK_CONCURRENCY;
  const before = await redisSnapshot(redis.admin, { netIn: true });
  const cpu0 = process.cpuUsage();
  const run = await bench.throughput(
    variant,
    workers,
    DURATION_S * 1000,
    LOCK_TTL_MS,
    `${test}:${round}`,
  );
  const cpu = process.cpuUsage(cpu0);
  const after = await redisSnapshot(redis.admin, { netIn: true });
  const key = `${test}:${variant}`;
  const clientCpuMs = (cpu.user + cpu.system) / 1000;
  lockSamples.set(key, [
    ...(lockSamples.get(key) ?? []),
    { run, redis: redisDelta(before, after), clientCpuMs },
  ]);
  log(
    `  lock ${test} ${variant}: ${fmt(run.opsPerSec)} ops/s, p99 ${fmt(run.p99Ms, 2)} ms, errors ${run.errors}`,
  );
}

// --- 2. using sections ---------------------------------------------------------------------

interface UsingSample {
  runs: UsingRun[];
  redis: RedisDelta;
}
const usingSamples = new Map<LockVariant, UsingSample[]>();

async function usingRun(
  bench: LockBench,
  redis: PrivateRedis,
  variant: LockVariant,
  round: number,
): Promise<void> {
  const before = await redisSnapshot(redis.admin, { netIn: true });
  const runs: UsingRun[] = [];
  for (let b = 0; b < USING_BATCHES; b++) {
    runs.push(
      await bench.using(
        variant,
        USING_PARALLEL,
        USING_TTL_MS,
        USING_WORK_MS,
        `using:${variant}:${round}:${b}`,
      ),
    );
  }
  const after = await redisSnapshot(redis.admin, { netIn: true });
  usingSamples.set(variant, [
    ...(usingSamples.get(variant) ?? []),
    { runs, redis: redisDelta(before, after) },
  ]);
  const done = runs.reduce((a, r) => a + r.completed, 0);
  log(`  using ${variant}: ${done}/${USING_PARALLEL * USING_BATCHES} completed`);
}

// --- 3. rate-limited endpoint --------------------------------------------------------------

type Limiter = 'ours' | 'approx' | 'nestlab' | 'none';
const LIMITER_LABEL: Record<Limiter, string> = {
  ours: 'ours: RateLimitModule (global guard, 1 Lua script)',
  approx: 'ours, approximate mode (RATE_LIMIT_MODE=approximate: local leases of ≤ 100)',
  nestlab: '@nestjs/throttler ThrottlerGuard + @nest-lab/throttler-storage-redis',
  none: 'no limiter',
};

interface HttpSample {
  reqPerSec: number;
  p99Ms: number;
  ok: number;
  limited: number;
  otherNon2xx: number;
  errors: number;
  durationS: number;
  serverRequests: number;
  serverCpuMs: number;
  redis: RedisDelta;
}
const httpSamples = new Map<Limiter, HttpSample[]>();
const limitedSamples = new Map<Limiter, HttpSample>();

async function serverStats(url: string): Promise<{ requests: number; cpuMs: number }> {
  const res = await fetch(`${url}/bench/stats`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET /bench/stats: HTTP ${res.status}`);
  return (await res.json()) as { requests: number; cpuMs: number };
}

/** One request, to check the variant is wired as intended (its headers), before any load. */
async function checkWiring(url: string, limiter: Limiter): Promise<void> {
  const res = await fetch(`${url}/hello`, { signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer();
  const ours = res.headers.has('ratelimit');
  const nestlab = res.headers.has('x-ratelimit-limit');
  const expected = {
    ours: [true, false],
    approx: [true, false],
    nestlab: [false, true],
    none: [false, false],
  }[limiter];
  if (res.status !== 200 || ours !== expected[0] || nestlab !== expected[1])
    throw new Error(
      `variant ${limiter} is not wired as expected: HTTP ${res.status}, RateLimit header ${ours}, X-RateLimit-Limit header ${nestlab}`,
    );
}

function load(url: string, durationS: number): Promise<autocannon.Result> {
  if (new URL(url).hostname !== '127.0.0.1') throw new Error('traffic goes to 127.0.0.1 only');
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration: durationS,
    pipelining: 1,
    timeout: 10,
  });
}

/** A fresh private Redis and server child; warm-up, FLUSHALL, then one measured run. */
async function httpRun(limiter: Limiter, limit: number): Promise<HttpSample> {
  const redis = await startPrivateRedis(REDIS_DIR_PREFIX);
  try {
    const { child, url } = await startChild(SERVER_JS, {
      REDIS_URL: redis.url,
      BENCH_LIMITER: limiter,
      BENCH_RL_LIMIT: String(limit),
      BENCH_RL_WINDOW_MS: String(RL_WINDOW_MS),
    });
    try {
      await checkWiring(url, limiter);
      if (HTTP_WARMUP_S > 0) await load(`${url}/hello`, HTTP_WARMUP_S);
      // Fresh limiter state for the measured run (scripts stay cached: FLUSHALL keeps them).
      await redis.admin.flushall();
      const s0 = await serverStats(url);
      const r0 = await redisSnapshot(redis.admin, { netIn: true });
      const r = await load(`${url}/hello`, RL_DURATION_S);
      const r1 = await redisSnapshot(redis.admin, { netIn: true });
      const s1 = await serverStats(url);
      const limited = r.statusCodeStats?.['429']?.count ?? 0;
      return {
        reqPerSec: r.requests.total / r.duration,
        p99Ms: r.latency.p99,
        ok: r['2xx'],
        limited,
        otherNon2xx: r.non2xx - limited,
        errors: r.errors,
        durationS: r.duration,
        serverRequests: s1.requests - s0.requests,
        serverCpuMs: s1.cpuMs - s0.cpuMs,
        redis: redisDelta(r0, r1),
      };
    } finally {
      await stopChild(child);
    }
  } finally {
    await redis.stop();
  }
}

// --- table ---------------------------------------------------------------------------------

interface Row {
  scenario: string;
  variant: string;
  throughput: string;
  latency: string;
  vsCompetitor: string;
  vsNone: string;
  commands: string;
  cost: string;
  notes: string;
}

function lockRows(test: LockTest, title: string): Row[] {
  const ours = lockSamples.get(`${test}:ours`) ?? [];
  const red = lockSamples.get(`${test}:redlock`) ?? [];
  if (ours.length === 0 && red.length === 0) return [];
  const perRound = ours.map((o, i) => o.run.opsPerSec / (red[i]?.run.opsPerSec ?? NaN));
  const row = (variant: LockVariant, samples: LockSample[]): Row => {
    const ops = samples.map((s) => s.run.opsPerSec);
    const totalOps = samples.reduce((a, s) => a + s.run.ops, 0);
    const errors = samples.reduce((a, s) => a + s.run.errors, 0);
    const firstError = samples.find((s) => s.run.firstError)?.run.firstError;
    const d = sumDeltas(samples.map((s) => s.redis));
    return {
      scenario: title,
      variant:
        variant === 'ours'
          ? 'ours: `LockService.acquire` + `handle.release()`'
          : 'redlock 5: `acquire([key], ttl)` + `lock.release()`',
      throughput: `${fmt(median(ops))} ops/s${range(ops)}`,
      latency: `${fmt(median(samples.map((s) => s.run.p99Ms)), 2)} ms`,
      vsCompetitor: variant === 'ours' ? ratio(median(perRound)) : '1.00×',
      vsNone: '—',
      commands: perOpBreakdown(d, totalOps),
      cost: costPerOp(
        d,
        totalOps,
        samples.reduce((a, s) => a + s.clientCpuMs, 0),
        'client (Node) CPU',
      ),
      notes:
        `${fmt(totalOps)} ops in ${samples.length} × ${fmt(DURATION_S, 1)} s; errors ${errors}` +
        (firstError ? ` (first: ${firstError})` : ''),
    };
  };
  return [row('ours', ours), row('redlock', red)];
}

function usingRows(redlockDefaultError: string | undefined): Row[] {
  const rows: Row[] = [];
  const title = `2. \`using\` sections: ${USING_PARALLEL} in parallel on distinct resources, ttl ${USING_TTL_MS} ms, work ${fmt(USING_WORK_MS)} ms`;
  for (const variant of ['ours', 'redlock'] as const) {
    const samples = usingSamples.get(variant) ?? [];
    if (samples.length === 0) continue;
    const runs = samples.flatMap((s) => s.runs);
    const started = runs.reduce((a, r) => a + r.started, 0);
    const completed = runs.reduce((a, r) => a + r.completed, 0);
    const errors = runs.reduce((a, r) => a + r.errors, 0);
    const aborted = runs.reduce((a, r) => a + r.aborted, 0);
    const firstError = runs.find((r) => r.firstError)?.firstError;
    const d = sumDeltas(samples.map((s) => s.redis));
    // Extend scripts: every script run that is not the acquire or the release of a section.
    const attempts = d.scripts - 2 * started;
    // Successful extensions write the lease: ours with PEXPIRE, redlock with SET PX; each
    // acquire also runs one SET (NX) PX, hence − started.
    const extensions = (d.byCommand.get('pexpire') ?? 0) + (d.byCommand.get('set') ?? 0) - started;
    rows.push({
      scenario: title,
      variant:
        variant === 'ours'
          ? 'ours: `locks.using(resource, { ttl }, fn)` (extends every ttl/3)'
          : `redlock 5: \`redlock.using([key], ttl, fn)\`, automaticExtensionThreshold ${REDLOCK_THRESHOLD_MS} ms`,
      throughput: `${completed}/${started} sections completed`,
      latency: `mean ${fmt(median(runs.map((r) => r.meanMs)))} ms, max ${fmt(Math.max(...runs.map((r) => r.maxMs)))} ms (section)`,
      vsCompetitor: '—',
      vsNone: '—',
      commands: `${perOpBreakdown(d, started)} per section`,
      cost: costPerOp(d, started),
      notes:
        `successful extensions ${fmt(extensions / started, 2)}/section (PEXPIRE + SET − acquires); extend scripts run ${fmt(attempts / started, 2)}/section (script calls − 2); ` +
        `errors ${errors}; signals aborted ${aborted}` +
        (firstError ? ` (first error: ${firstError})` : ''),
    });
  }
  if (SCENARIOS.has('using'))
    rows.push({
      scenario: title,
      variant: 'redlock 5, default settings (automaticExtensionThreshold 500 ms)',
      throughput: redlockDefaultError === undefined ? 'ran' : '0: `using()` rejected at once',
      latency: '—',
      vsCompetitor: '—',
      vsNone: '—',
      commands: '—',
      cost: '—',
      notes:
        redlockDefaultError === undefined
          ? 'no error'
          : `measured once: "${redlockDefaultError.replace(/`/g, "'")}"`,
    });
  return rows;
}

function httpRows(): Row[] {
  const windows = (RL_DURATION_S * 1000) / RL_WINDOW_MS;
  const windowNote =
    RL_DURATION_S >= 60
      ? `run ${fmt(RL_DURATION_S)} s (≥ 60 s), window ${seconds(RL_WINDOW_MS)}`
      : `short window instead of a ≥ 60 s run: RATE_LIMIT window ${seconds(RL_WINDOW_MS)}, each measured run ${fmt(RL_DURATION_S, 1)} s = ${fmt(windows, 1)} full windows`;
  const title = `3a. GET /hello, limit ${fmt(RL_LIMIT)} per ${seconds(RL_WINDOW_MS)} (not reached), ${CONNECTIONS} connections`;
  const rows: Row[] = [];
  const samples = (l: Limiter) => httpSamples.get(l) ?? [];
  const perRound = (a: Limiter, b: Limiter): number =>
    median(samples(a).map((s, i) => s.reqPerSec / (samples(b)[i]?.reqPerSec ?? NaN)));
  for (const limiter of ['ours', 'approx', 'nestlab', 'none'] as const) {
    const ss = samples(limiter);
    if (ss.length === 0) continue;
    const rps = ss.map((s) => s.reqPerSec);
    const served = ss.reduce((a, s) => a + s.serverRequests, 0);
    const d = sumDeltas(ss.map((s) => s.redis));
    const cpu = ss.reduce((a, s) => a + s.serverCpuMs, 0);
    const ok = ss.reduce((a, s) => a + s.ok, 0);
    const non2xx = ss.reduce((a, s) => a + s.limited + s.otherNon2xx, 0);
    const errors = ss.reduce((a, s) => a + s.errors, 0);
    rows.push({
      scenario: title,
      variant: LIMITER_LABEL[limiter],
      throughput: `${fmt(median(rps))} req/s${range(rps)}`,
      latency: `${fmt(median(ss.map((s) => s.p99Ms)), 1)} ms`,
      vsCompetitor: limiter === 'nestlab' ? '1.00×' : ratio(perRound(limiter, 'nestlab')),
      vsNone: limiter === 'none' ? '1.00×' : ratio(perRound(limiter, 'none')),
      commands: limiter === 'none' && d.commands === 0 ? '0' : perOpBreakdown(d, served),
      cost: costPerOp(d, served, cpu),
      notes: `${windowNote}; 2xx ${fmt(ok)}, non-2xx ${fmt(non2xx)}, errors ${errors}; ${ss.length} run(s)`,
    });
  }
  return rows;
}

function limitedRows(): Row[] {
  const rows: Row[] = [];
  const windows = (RL_DURATION_S * 1000) / RL_WINDOW_MS;
  const title = `3b. same, limit ${fmt(RL_LOW_LIMIT)} per ${seconds(RL_WINDOW_MS)} (reached): one run each`;
  for (const limiter of ['ours', 'approx', 'nestlab'] as const) {
    const s = limitedSamples.get(limiter);
    if (!s) continue;
    rows.push({
      scenario: title,
      variant: LIMITER_LABEL[limiter],
      throughput: `${fmt(s.reqPerSec)} req/s`,
      latency: `${fmt(s.p99Ms, 1)} ms`,
      vsCompetitor: '—',
      vsNone: '—',
      commands: perOpBreakdown(s.redis, s.serverRequests),
      cost: costPerOp(s.redis, s.serverRequests, s.serverCpuMs),
      notes:
        `allowed (2xx) ${fmt(s.ok)}, limited (429) ${fmt(s.limited)}, other non-2xx ${fmt(s.otherNon2xx)}, errors ${s.errors}; ` +
        `allowed per window ${fmt(s.ok / windows)} (limit ${fmt(RL_LOW_LIMIT)}, ${fmt(windows, 1)} windows of ${seconds(RL_WINDOW_MS)})` +
        (limiter !== 'nestlab'
          ? '; sliding-window counter, no block'
          : '; fixed window, blocked for blockDuration = ttl once over'),
    });
  }
  return rows;
}

function renderTable(rows: Row[]): string {
  const header = [
    'Scenario',
    'Variant',
    'Throughput (median of rounds, min–max)',
    'p99 latency',
    'Ratio vs competitor',
    'Ratio vs no limiter',
    'Redis commands per op (INFO commandstats, in-script included)',
    'Cost per op',
    'Notes',
  ];
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map(
      (r) =>
        `| ${[r.scenario, r.variant, r.throughput, r.latency, r.vsCompetitor, r.vsNone, r.commands, r.cost, r.notes].map(cell).join(' | ')} |`,
    ),
  ];
  return lines.join('\n');
}

// --- main ----------------------------------------------------------------------------------

async function main(): Promise<void> {
  const startedAt = performance.now();
  startWatchdog(MAX_RUN_S, () =>
    log(`watchdog: the run exceeded BENCH_MAX_RUN_S=${MAX_RUN_S} s; stopping everything`),
  );

  const copied = copyLuaAssets();
  const machine = machineLine('coord');
  log(machine);
  log(`copied ${copied} Lua files into dist-bench/src/**/lua`);

  const lockPhases = SCENARIOS.has('locks') || SCENARIOS.has('using');
  let lockRedis: PrivateRedis | undefined;
  let bench: LockBench | undefined;
  let redlockDefaultError: string | undefined;
  try {
    if (lockPhases) {
      lockRedis = await startPrivateRedis(REDIS_DIR_PREFIX);
      bench = await LockBench.create(lockRedis.url, REDLOCK_THRESHOLD_MS);
      log(`lock phases on private redis ${lockRedis.url}; warm-up`);
      for (const v of ['ours', 'redlock'] as const) {
        if (SCENARIOS.has('locks') && WARMUP_S > 0) {
          await bench.throughput(v, 1, WARMUP_S * 1000, LOCK_TTL_MS, 'warm-seq');
          await bench.throughput(v, LOCK_CONCURRENCY, WARMUP_S * 1000, LOCK_TTL_MS, 'warm-conc');
        }
        // Loads the extend scripts too (first EVALSHA → NOSCRIPT → EVAL) outside the measurement.
        if (SCENARIOS.has('using'))
          await bench.using(v, 2, USING_TTL_MS, Math.round(USING_TTL_MS / 2), 'warm-using');
      }
      if (SCENARIOS.has('using'))
        redlockDefaultError = await redlockDefaultUsingError(lockRedis.url, USING_TTL_MS);
    }

    for (let round = 0; round < ROUNDS; round++) {
      log(`round ${round + 1}/${ROUNDS}`);
      const lockOrder: LockVariant[] = round % 2 === 0 ? ['ours', 'redlock'] : ['redlock', 'ours'];
      if (bench && lockRedis && SCENARIOS.has('locks')) {
        for (const test of ['seq', 'conc'] as const)
          for (const v of lockOrder) await lockRun(bench, lockRedis, test, v, round);
      }
      if (bench && lockRedis && SCENARIOS.has('using')) {
        for (const v of lockOrder) await usingRun(bench, lockRedis, v, round);
      }
      if (SCENARIOS.has('ratelimit')) {
        const all: Limiter[] = ['ours', 'approx', 'nestlab', 'none'];
        const order = all.map((_, i) => all[(i + round) % all.length]);
        for (const limiter of order) {
          const s = await httpRun(limiter, RL_LIMIT);
          httpSamples.set(limiter, [...(httpSamples.get(limiter) ?? []), s]);
          log(
            `  http ${limiter}: ${fmt(s.reqPerSec)} req/s, p99 ${s.p99Ms} ms, 2xx ${s.ok}, non-2xx ${s.limited + s.otherNon2xx}, Redis ${fmt(s.redis.commands / Math.max(1, s.serverRequests), 2)} cmds/req`,
          );
        }
      }
    }

    if (SCENARIOS.has('limited')) {
      log(`limit-reached run (${RL_LOW_LIMIT} per ${RL_WINDOW_MS} ms)`);
      for (const limiter of ['nestlab', 'ours', 'approx'] as const) {
        const s = await httpRun(limiter, RL_LOW_LIMIT);
        limitedSamples.set(limiter, s);
        log(`  limited ${limiter}: 2xx ${s.ok}, 429 ${s.limited}, other ${s.otherNon2xx}`);
      }
    }
  } finally {
    await bench?.close();
    await lockRedis?.stop();
  }

  const rows = [
    ...lockRows(
      'seq',
      `1a. Lock acquire + release, sequential, one resource (ttl ${fmt(LOCK_TTL_MS)} ms)`,
    ),
    ...lockRows(
      'conc',
      `1b. Lock acquire + release, ${LOCK_CONCURRENCY} concurrent resources (one loop each)`,
    ),
    ...usingRows(redlockDefaultError),
    ...httpRows(),
    ...limitedRows(),
  ];
  const totalS = (performance.now() - startedAt) / 1000;
  const settings =
    `Run: ${new Date().toISOString()}, ${ROUNDS} round(s), variants interleaved (rotated order each round); ` +
    `lock runs ${fmt(DURATION_S, 1)} s each after ${fmt(WARMUP_S, 1)} s warm-up, in-process; ` +
    `HTTP runs ${fmt(RL_DURATION_S, 1)} s each after ${fmt(HTTP_WARMUP_S, 1)} s warm-up, Fastify server in a child process per run, autocannon (${CONNECTIONS} connections) in the parent; ` +
    `a fresh private redis-server per HTTP run, one for the lock phases; ratios are medians of per-round ratios; ` +
    `whole run ${fmt(totalS)} s. Redis commands per op are INFO commandstats deltas over the measured run divided by operations (lock: acquire + release; HTTP: /hello responses counted by the server), ` +
    `so commands run inside Lua scripts count; eval/evalsha calls are the script round trips.`;
  const md = [
    '# Coordination benchmark (`npm run bench:coord`)',
    '',
    machine,
    '',
    settings,
    '',
    renderTable(rows),
    '',
  ].join('\n');
  process.stdout.write(`${md}\n`);
  log(`wrote ${writeResults(process.env.BENCH_RESULTS_FILE ?? 'coord-latest.md', md)}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    killEverything();
    process.exit(1);
  },
);
