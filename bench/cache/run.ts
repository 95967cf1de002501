/**
 * Cache benchmark: our `@Cached` (CacheService) vs @nestjs/cache-manager on @keyv/redis vs no
 * cache, on Fastify and Express, each server in a child process against a private
 * redis-server. Variants are interleaved (round-robin, a new order each round) and every
 * figure is the median across rounds. Prints one markdown table and writes it to
 * bench/results/cache-latest.md.
 *
 *   npm run bench:cache                                   # default, ≈ 10 minutes
 *   BENCH_DURATION_S=1 BENCH_ROUNDS=1 npm run bench:cache # smoke run, ≈ 2 minutes
 *
 * Settings (environment, defaults in brackets): BENCH_DURATION_S [5] and BENCH_WARMUP_S [1]
 * per hit run; BENCH_ROUNDS [2]; BENCH_CONNECTIONS [50] for the hit runs; BENCH_BURST [500]
 * and BENCH_BURSTS [3] for the cold burst; BENCH_LOADER_MS [50] for scenarios 3–5; BENCH_RATE
 * [1000 req/s] and BENCH_OPEN_CONNECTIONS [200] for the open-loop load of scenarios 4–5;
 * BENCH_TTL_MS [2000], BENCH_STALE_TTL_MS [1000] and BENCH_EXPIRY_S [max(3, 1.2 × duration)]
 * for scenario 4; BENCH_OUTAGE_PRE_S [max(1, 0.4 × duration)] and BENCH_OUTAGE_S
 * [max(2, 0.8 × duration)] for scenario 5; BENCH_REQUEST_TIMEOUT_MS [2000]; BENCH_PLATFORMS
 * [fastify,express]; BENCH_SCENARIOS [1,3,4,5] (scenario 2 is measured within 1, 3 and 4);
 * BENCH_VARIANTS [all] (e.g. `ours,ours-nocmd`: Redis command metrics on vs off, L1 off;
 * `ours-cost`: with the per-request Redis cost, REDIS_REQUEST_COST, on too);
 * BENCH_RESULTS_FILE [cache-latest.md] in bench/results; BENCH_BASELINE_DIR [unset]: another
 * build's dist-bench whose server runs as variants `base` and `base-l1` of the hit scenario
 * (before/after a change in one interleaved run; its `src/**\/lua` must be copied beside it);
 * BENCH_MAX_RUN_S [1800], a watchdog that ends the whole run; BENCH_CPU_PROF_DIR [unset]: every
 * server child runs with `--cpu-prof` and writes its profile there (the log names each child's
 * pid; summarize one with `node dist-bench/bench/auth/profile.js <file>`; figures of a profiled
 * run are not comparable).
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import type { RedisServerProcess } from '../../src/redis';
import { redisDelta, RedisSnapshot, redisSnapshot } from '../lib/redis-cost';
import {
  copyLuaAssets,
  installCleanupHandlers,
  killEverything,
  machineLine,
  redisServerVersion,
  startChild,
  startPrivateRedis,
  startWatchdog,
  stopChild,
  writeResults,
} from '../lib/runner';
import { median, num, sleep } from '../lib/util';
import { burst, getJson, steadyLoad, summarize, throughput, warmKey } from './load';

// --- settings ----------------------------------------------------------------------------

const DURATION_S = num('BENCH_DURATION_S', 5, 0.5);
const ROUNDS = Math.round(num('BENCH_ROUNDS', 2, 1));
const WARMUP_S = num('BENCH_WARMUP_S', Math.min(1, DURATION_S), 0);
const CONNECTIONS = Math.round(num('BENCH_CONNECTIONS', 50, 1));
/** Connection cap of the open-loop load (scenarios 4–5): enough that 50 ms loads do not queue behind it. */
const OPEN_CONNECTIONS = Math.round(num('BENCH_OPEN_CONNECTIONS', 200, 1));
const BURST = Math.round(num('BENCH_BURST', 500, 1));
const BURSTS = Math.round(num('BENCH_BURSTS', 3, 1));
const LOADER_MS = num('BENCH_LOADER_MS', 50);
const RATE = num('BENCH_RATE', 1000, 1);
const TTL_MS = num('BENCH_TTL_MS', 2000, 100);
const STALE_TTL_MS = num('BENCH_STALE_TTL_MS', 1000);
const EXPIRY_S = num('BENCH_EXPIRY_S', Math.max(3, Math.round(1.2 * DURATION_S)), 0.5);
const OUTAGE_PRE_S = num('BENCH_OUTAGE_PRE_S', Math.max(1, 0.4 * DURATION_S), 0.2);
const OUTAGE_S = num('BENCH_OUTAGE_S', Math.max(2, 0.8 * DURATION_S), 0.5);
const REQUEST_TIMEOUT_MS = num('BENCH_REQUEST_TIMEOUT_MS', 2000, 100);
const MAX_RUN_S = num('BENCH_MAX_RUN_S', 1800, 10);
const PLATFORMS = (process.env.BENCH_PLATFORMS ?? 'fastify,express')
  .split(',')
  .map((s) => s.trim())
  .filter((s): s is Platform => s === 'fastify' || s === 'express');
const SCENARIOS = new Set(
  (process.env.BENCH_SCENARIOS ?? '1,3,4,5').split(',').map((s) => s.trim()),
);

/** Only these variant ids (e.g. `ours,ours-nocmd` for the command-metrics overhead); default all. */
const VARIANTS = process.env.BENCH_VARIANTS?.split(',').map((s) => s.trim());
/** Set: every server child runs under `--cpu-prof` and writes its profile here. */
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF_DIR?.trim() || undefined;

type Platform = 'fastify' | 'express';
type Route = 'ours' | 'cm' | 'ceiling';

const SERVER_JS = join(__dirname, 'server.js');
/**
 * Set: the hit scenario adds `base` and `base-l1`, ours from another build's dist-bench (e.g. a
 * copy made before a change), interleaved with this build's for a before/after in one run.
 */
const BASELINE_DIR = process.env.BENCH_BASELINE_DIR?.trim() || undefined;
const BASELINE_SERVER_JS = BASELINE_DIR
  ? join(resolve(BASELINE_DIR), 'bench/cache/server.js')
  : undefined;

// --- process bookkeeping: nothing outlives the run ---------------------------------------

installCleanupHandlers();

// --- one server under test ---------------------------------------------------------------

interface Target {
  url: string;
  redis: RedisServerProcess;
  /** INFO connection to the private Redis (not the app's) */
  info: Redis;
}

/** A fresh private redis-server and a fresh server process, torn down after `fn`. */
async function withTarget<T>(
  platform: Platform,
  env: Record<string, string>,
  fn: (t: Target) => Promise<T>,
  serverJs = SERVER_JS,
): Promise<T> {
  const redis = await startPrivateRedis('nrp-bench-redis-');
  let child: ChildProcess | undefined;
  try {
    const started = await startChild(
      serverJs,
      { HTTP_PLATFORM: platform, REDIS_URL: redis.url, ...env },
      { execArgv: CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${resolve(CPU_PROF_DIR)}`] : [] },
    );
    child = started.child;
    if (CPU_PROF_DIR)
      console.log(`  profiling ${platform} ${JSON.stringify(env)}: server pid ${child.pid}`);
    return await fn({ url: started.url, redis: redis.server, info: redis.admin });
  } finally {
    if (child) await stopChild(child);
    await redis.stop();
  }
}

/** Loader calls and CPU ms of the server process so far. */
const serverStats = (url: string): Promise<{ loads: number; cpuMs: number }> =>
  getJson<{ loads: number; cpuMs: number }>(`${url}/bench/loads`);
const loadsOf = async (url: string): Promise<number> => (await serverStats(url)).loads;
const resetLoads = async (url: string): Promise<void> => {
  await getJson(`${url}/bench/reset`, 'POST');
};

// --- results -----------------------------------------------------------------------------

interface Metrics {
  reqPerSec?: number;
  p99Ms?: number;
  cmdsPer1k?: number;
  cpuMsPer1k?: number;
  /** CPU time of the server process (user + system) per 1,000 requests */
  serverCpuMsPer1k?: number;
  loads?: number;
  errorPct?: number;
  /** requests behind the figures */
  requests?: number;
  /** per-command calls per 1,000 requests */
  byCommand?: Record<string, number>;
}

interface Variant {
  id: string;
  label: string;
  route: Route;
  env: Record<string, string>;
  /** Another build's server (BENCH_BASELINE_DIR); default this build's. */
  serverJs?: string;
}

interface Scenario {
  id: string;
  title: string;
  variants: Variant[];
  measure: (p: Platform, v: Variant) => Promise<Metrics>;
}

const per1k = (n: number, requests: number): number => (requests > 0 ? (n / requests) * 1000 : NaN);

function costOf(
  before: RedisSnapshot,
  after: RedisSnapshot,
  requests: number,
): Pick<Metrics, 'cmdsPer1k' | 'cpuMsPer1k' | 'byCommand'> {
  const d = redisDelta(before, after);
  const byCommand: Record<string, number> = {};
  for (const [cmd, n] of d.byCommand) byCommand[cmd] = per1k(n, requests);
  return {
    cmdsPer1k: per1k(d.commands, requests),
    cpuMsPer1k: per1k(d.cpuMs, requests),
    byCommand,
  };
}

const errorPct = (failed: number, all: number): number => (all > 0 ? (failed / all) * 100 : NaN);

const OURS_L1_OFF = { CACHE_L1_MAX_ENTRIES: '0', CACHE_AUTO_PIPELINING: 'true' };
const SLOW = { BENCH_LOADER_MS: String(LOADER_MS) };

/** 1 + 2: cache hits at full speed, and what each costs Redis. */
const hits: Scenario = {
  id: '1',
  title: 'hit',
  variants: [
    { id: 'ceiling', label: 'no cache (ceiling)', route: 'ceiling', env: {} },
    { id: 'cm', label: '@nestjs/cache-manager + @keyv/redis', route: 'cm', env: {} },
    { id: 'ours', label: 'ours, L1 off', route: 'ours', env: OURS_L1_OFF },
    {
      id: 'ours-nocmd',
      label: 'ours, L1 off, Redis command metrics off',
      route: 'ours',
      env: { ...OURS_L1_OFF, REDIS_COMMAND_METRICS: 'false' },
    },
    {
      id: 'ours-cost',
      label: 'ours, L1 off, Redis command metrics and per-request cost on',
      route: 'ours',
      env: { ...OURS_L1_OFF, REDIS_REQUEST_COST: 'true' },
    },
    {
      id: 'ours-nopipe',
      label: 'ours, L1 off, auto-pipelining off',
      route: 'ours',
      env: { ...OURS_L1_OFF, CACHE_AUTO_PIPELINING: 'false' },
    },
    {
      id: 'ours-l1',
      label: 'ours, L1 on (10,000)',
      route: 'ours',
      env: { ...OURS_L1_OFF, CACHE_L1_MAX_ENTRIES: '10000' },
    },
    ...(BASELINE_SERVER_JS
      ? [
          {
            id: 'base',
            label: 'baseline build, L1 off',
            route: 'ours' as const,
            env: OURS_L1_OFF,
            serverJs: BASELINE_SERVER_JS,
          },
          {
            id: 'base-l1',
            label: 'baseline build, L1 on (10,000)',
            route: 'ours' as const,
            env: { ...OURS_L1_OFF, CACHE_L1_MAX_ENTRIES: '10000' },
            serverJs: BASELINE_SERVER_JS,
          },
        ]
      : []),
  ],
  measure: async (platform, v) =>
    withTarget(
      platform,
      { ...v.env, BENCH_LOADER_MS: '0' },
      async ({ url, info }) => {
        const target = `${url}/${v.route}/1`;
        await warmKey(target, v.route !== 'ceiling');
        if (WARMUP_S > 0) await throughput(target, CONNECTIONS, WARMUP_S);
        await resetLoads(url);
        const server0 = await serverStats(url);
        const before = await redisSnapshot(info);
        const r = await throughput(target, CONNECTIONS, DURATION_S);
        const after = await redisSnapshot(info);
        const server1 = await serverStats(url);
        return {
          reqPerSec: r.reqPerSec,
          p99Ms: r.p99Ms,
          errorPct: errorPct(r.non2xx + r.errors, r.total + r.errors),
          loads: server1.loads - server0.loads,
          serverCpuMsPer1k: per1k(server1.cpuMs - server0.cpuMs, r.total),
          requests: r.total,
          ...costOf(before, after, r.total),
        };
      },
      v.serverJs,
    ),
};

/** 3: BURST concurrent requests for one cold key, loader LOADER_MS. */
const coldBurst: Scenario = {
  id: '3',
  title: `cold burst (${BURST} concurrent, loader ${LOADER_MS} ms)`,
  variants: [
    { id: 'cm', label: '@nestjs/cache-manager + @keyv/redis', route: 'cm', env: SLOW },
    { id: 'ours', label: 'ours, L1 off', route: 'ours', env: { ...OURS_L1_OFF, ...SLOW } },
  ],
  measure: async (platform, v) =>
    withTarget(platform, v.env, async ({ url, info }) => {
      await warmKey(`${url}/${v.route}/warm`, v.route !== 'ceiling');
      const runs: Metrics[] = [];
      for (let b = 0; b < BURSTS; b++) {
        await resetLoads(url);
        const server0 = await serverStats(url);
        const before = await redisSnapshot(info);
        const samples = await burst(`${url}/${v.route}/cold-${b}`, BURST, 10_000);
        const after = await redisSnapshot(info);
        const server1 = await serverStats(url);
        const s = summarize(samples);
        runs.push({
          p99Ms: s.p99Ms,
          loads: server1.loads - server0.loads,
          serverCpuMsPer1k: per1k(server1.cpuMs - server0.cpuMs, s.total),
          errorPct: errorPct(s.failed, s.total),
          requests: s.total,
          ...costOf(before, after, s.total),
        });
      }
      return medianMetrics(runs);
    }),
};

/** 4: a hot key with a short TTL under steady load, crossing several expiries. */
const expiry: Scenario = {
  id: '4',
  title: `hot key expiring (TTL ${TTL_MS} ms, loader ${LOADER_MS} ms, ${RATE} req/s for ${EXPIRY_S} s)`,
  variants: [
    { id: 'cm', label: '@nestjs/cache-manager + @keyv/redis', route: 'cm', env: SLOW },
    {
      id: 'ours',
      label: 'ours, L1 off, XFetch β=1',
      route: 'ours',
      env: { ...OURS_L1_OFF, ...SLOW, BENCH_BETA: '1' },
    },
    {
      id: 'ours-stale',
      label: `ours, L1 off, XFetch β=1 + staleTtl ${STALE_TTL_MS} ms`,
      route: 'ours',
      env: { ...OURS_L1_OFF, ...SLOW, BENCH_BETA: '1', BENCH_STALE_TTL_MS: String(STALE_TTL_MS) },
    },
  ],
  measure: async (platform, v) =>
    withTarget(platform, { ...v.env, BENCH_TTL_MS: String(TTL_MS) }, async ({ url, info }) => {
      const target = `${url}/${v.route}/hot`;
      await warmKey(target, true);
      await resetLoads(url);
      const server0 = await serverStats(url);
      const before = await redisSnapshot(info);
      const { samples } = await steadyLoad({
        url: target,
        rate: RATE,
        durationMs: EXPIRY_S * 1000,
        connections: OPEN_CONNECTIONS,
        timeoutMs: REQUEST_TIMEOUT_MS,
      });
      const after = await redisSnapshot(info);
      const server1 = await serverStats(url);
      const s = summarize(samples);
      return {
        reqPerSec: s.ok / EXPIRY_S,
        p99Ms: s.p99Ms,
        loads: server1.loads - server0.loads,
        serverCpuMsPer1k: per1k(server1.cpuMs - server0.cpuMs, s.total),
        errorPct: errorPct(s.failed, s.total),
        requests: s.total,
        ...costOf(before, after, s.total),
      };
    }),
};

/** 5: steady load, then Redis is stopped (SIGTERM); figures cover the requests due after the stop. */
const outage: Scenario = {
  id: '5',
  title: `Redis stopped under load (${RATE} req/s, loader ${LOADER_MS} ms, ${OUTAGE_S} s of outage)`,
  variants: [
    { id: 'cm', label: '@nestjs/cache-manager + @keyv/redis', route: 'cm', env: SLOW },
    { id: 'ours', label: 'ours, L1 off', route: 'ours', env: { ...OURS_L1_OFF, ...SLOW } },
  ],
  measure: async (platform, v) =>
    withTarget(platform, v.env, async ({ url, redis, info }) => {
      const target = `${url}/${v.route}/1`;
      await warmKey(target, true);
      await resetLoads(url);
      info.disconnect();
      let loadsAtStop = 0;
      const { samples, atAbs } = await steadyLoad({
        url: target,
        rate: RATE,
        durationMs: (OUTAGE_PRE_S + OUTAGE_S) * 1000,
        connections: OPEN_CONNECTIONS,
        timeoutMs: REQUEST_TIMEOUT_MS,
        at: {
          atMs: OUTAGE_PRE_S * 1000,
          run: async () => {
            loadsAtStop = await loadsOf(url);
            await redis.stop();
          },
        },
      });
      const loadsAtEnd = await loadsOf(url);
      const during = samples.filter((s) => atAbs !== undefined && s.dueMs >= atAbs);
      const s = summarize(during);
      return {
        reqPerSec: s.ok / OUTAGE_S,
        p99Ms: s.p99Ms,
        loads: loadsAtEnd - loadsAtStop,
        errorPct: errorPct(s.failed, s.total),
        requests: s.total,
      };
    }),
};

function medianMetrics(runs: Metrics[]): Metrics {
  const pick = (k: keyof Omit<Metrics, 'byCommand'>) => {
    const vals = runs.map((r) => r[k]).filter((x): x is number => typeof x === 'number');
    return vals.length ? median(vals) : undefined;
  };
  const cmds = new Set(runs.flatMap((r) => Object.keys(r.byCommand ?? {})));
  const byCommand: Record<string, number> = {};
  for (const c of cmds) byCommand[c] = median(runs.map((r) => r.byCommand?.[c] ?? 0));
  return {
    reqPerSec: pick('reqPerSec'),
    p99Ms: pick('p99Ms'),
    cmdsPer1k: pick('cmdsPer1k'),
    cpuMsPer1k: pick('cpuMsPer1k'),
    serverCpuMsPer1k: pick('serverCpuMsPer1k'),
    loads: pick('loads'),
    errorPct: pick('errorPct'),
    requests: pick('requests'),
    byCommand: cmds.size ? byCommand : undefined,
  };
}

// --- report ------------------------------------------------------------------------------

const fmt = (x: number | undefined, digits = 0): string =>
  x === undefined || !Number.isFinite(x)
    ? '–'
    : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ratio = (a?: number, b?: number): string =>
  a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0
    ? '–'
    : `${(a / b).toFixed(2)}×`;

/** Machine-wide CPU counters from /proc/stat (Linux), for the busy and steal share of the run. */
function cpuTimes(): { total: number; idle: number; steal: number } | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return { total, idle: f[3] + f[4], steal: f[7] ?? 0 };
  } catch {
    return undefined;
  }
}

type Results = Map<string, Metrics[]>; // `${scenario}|${platform}|${variant}` → one per round
const keyOf = (s: string, p: string, v: string) => `${s}|${p}|${v}`;

function report(
  scenarios: Scenario[],
  results: Results,
  meta: {
    startedAt: Date;
    seconds: number;
    redisVersion: string;
    failures: string[];
    cpu?: { busyPct: number; stealPct: number };
  },
): string {
  const med = (s: string, p: string, v: string): Metrics | undefined => {
    const runs = results.get(keyOf(s, p, v));
    return runs?.length ? medianMetrics(runs) : undefined;
  };
  const lines: string[] = [];
  lines.push('# Cache benchmark', '');
  lines.push(machineLine('cache', meta.redisVersion));
  lines.push('');
  lines.push(
    `Run ${meta.startedAt.toISOString()}, ${Math.round(meta.seconds)} s; ${ROUNDS} round(s), variants interleaved, median of rounds; ` +
      `hit runs ${DURATION_S} s after ${WARMUP_S} s warm-up, autocannon ${CONNECTIONS} connections, pipelining 1; ` +
      `load generator, server (child process) and redis-server share the machine's ${cpus().length} cores` +
      (meta.cpu
        ? ` (machine-wide over the run: ${meta.cpu.busyPct.toFixed(0)} % busy, ${meta.cpu.stealPct.toFixed(1)} % stolen by the hypervisor).`
        : '.'),
  );
  lines.push('');
  lines.push(
    '| Scenario | Platform | Variant | req/s | p99 ms | × ceiling | × cache-manager | Redis cmds / 1k req | Redis CPU ms / 1k req | server CPU ms / 1k req | loader calls | errors % |',
  );
  lines.push('|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const sc of scenarios) {
    for (const p of PLATFORMS) {
      const ceiling = med(sc.id, p, 'ceiling');
      const cm = med(sc.id, p, 'cm');
      for (const v of sc.variants) {
        const m = med(sc.id, p, v.id);
        if (!m) {
          lines.push(`| ${sc.id} ${sc.title} | ${p} | ${v.label} | failed | | | | | | | | |`);
          continue;
        }
        const isHit = sc.id === '1';
        lines.push(
          `| ${sc.id} ${sc.title} | ${p} | ${v.label} | ${fmt(m.reqPerSec)} | ${fmt(m.p99Ms, 1)} | ` +
            `${isHit ? ratio(m.reqPerSec, ceiling?.reqPerSec) : '–'} | ${isHit ? ratio(m.reqPerSec, cm?.reqPerSec) : '–'} | ` +
            `${fmt(m.cmdsPer1k)} | ${fmt(m.cpuMsPer1k, 1)} | ${fmt(m.serverCpuMsPer1k)} | ${fmt(m.loads)} | ${fmt(m.errorPct, 1)} |`,
        );
      }
    }
  }

  lines.push('', '## Ratios (medians)', '');
  for (const p of PLATFORMS) {
    const r: string[] = [];
    const h = (v: string) => med('1', p, v);
    if (SCENARIOS.has('1')) {
      r.push(
        `hit req/s vs cache-manager: ours L1 off ${ratio(h('ours')?.reqPerSec, h('cm')?.reqPerSec)}, ours L1 on ${ratio(h('ours-l1')?.reqPerSec, h('cm')?.reqPerSec)}`,
        `hit req/s vs ceiling: cache-manager ${ratio(h('cm')?.reqPerSec, h('ceiling')?.reqPerSec)}, ours L1 off ${ratio(h('ours')?.reqPerSec, h('ceiling')?.reqPerSec)}, ours L1 on ${ratio(h('ours-l1')?.reqPerSec, h('ceiling')?.reqPerSec)}`,
        `Redis command metrics (L1 off), on vs off: req/s ${ratio(h('ours')?.reqPerSec, h('ours-nocmd')?.reqPerSec)}, p99 ${ratio(h('ours')?.p99Ms, h('ours-nocmd')?.p99Ms)}, server CPU per request ${ratio(h('ours')?.serverCpuMsPer1k, h('ours-nocmd')?.serverCpuMsPer1k)}`,
        `Redis command metrics and per-request cost (REDIS_REQUEST_COST) vs both off: req/s ${ratio(h('ours-cost')?.reqPerSec, h('ours-nocmd')?.reqPerSec)}, p99 ${ratio(h('ours-cost')?.p99Ms, h('ours-nocmd')?.p99Ms)}, server CPU per request ${ratio(h('ours-cost')?.serverCpuMsPer1k, h('ours-nocmd')?.serverCpuMsPer1k)}`,
        `hit p99 vs cache-manager: ours L1 off ${ratio(h('ours')?.p99Ms, h('cm')?.p99Ms)}, ours L1 on ${ratio(h('ours-l1')?.p99Ms, h('cm')?.p99Ms)}`,
        `Redis CPU per request, ours L1 off vs cache-manager: ${ratio(h('ours')?.cpuMsPer1k, h('cm')?.cpuMsPer1k)}; auto-pipelining off vs on: ${ratio(h('ours-nopipe')?.cpuMsPer1k, h('ours')?.cpuMsPer1k)} (req/s off vs on ${ratio(h('ours-nopipe')?.reqPerSec, h('ours')?.reqPerSec)})`,
        `server CPU per request vs cache-manager: ours L1 off ${ratio(h('ours')?.serverCpuMsPer1k, h('cm')?.serverCpuMsPer1k)}, ours L1 on ${ratio(h('ours-l1')?.serverCpuMsPer1k, h('cm')?.serverCpuMsPer1k)}`,
      );
      if (BASELINE_SERVER_JS)
        r.push(
          `this build vs the baseline build: L1 off req/s ${ratio(h('ours')?.reqPerSec, h('base')?.reqPerSec)}, server CPU per request ${ratio(h('ours')?.serverCpuMsPer1k, h('base')?.serverCpuMsPer1k)}; L1 on req/s ${ratio(h('ours-l1')?.reqPerSec, h('base-l1')?.reqPerSec)}, server CPU per request ${ratio(h('ours-l1')?.serverCpuMsPer1k, h('base-l1')?.serverCpuMsPer1k)}`,
        );
    }
    if (SCENARIOS.has('3')) {
      const c = med('3', p, 'cm');
      const o = med('3', p, 'ours');
      r.push(
        `cold burst: loader calls ours ${fmt(o?.loads)} vs cache-manager ${fmt(c?.loads)}; p99 ours vs cache-manager ${ratio(o?.p99Ms, c?.p99Ms)}`,
      );
    }
    if (SCENARIOS.has('4')) {
      const c = med('4', p, 'cm');
      const o = med('4', p, 'ours');
      const os = med('4', p, 'ours-stale');
      r.push(
        `hot key expiring: loader calls ours ${fmt(o?.loads)} / ours+staleTtl ${fmt(os?.loads)} vs cache-manager ${fmt(c?.loads)}; p99 ours vs cache-manager ${ratio(o?.p99Ms, c?.p99Ms)}`,
      );
    }
    if (SCENARIOS.has('5')) {
      const c = med('5', p, 'cm');
      const o = med('5', p, 'ours');
      r.push(
        `Redis stopped: errors ours ${fmt(o?.errorPct, 1)} % vs cache-manager ${fmt(c?.errorPct, 1)} %; p99 ours ${fmt(o?.p99Ms, 1)} ms vs cache-manager ${fmt(c?.p99Ms, 1)} ms`,
      );
    }
    lines.push(`- **${p}**: ${r.join('; ')}.`);
  }

  lines.push('', '## Notes', '');
  lines.push(
    '- Each variant runs in its own server process against its own fresh redis-server (loopback, no persistence); `× ceiling` and `× cache-manager` compare req/s on the same platform. The ceiling route returns the same JSON with no cache and no loader; every route, the ceiling included, passes the app’s metrics middleware and global interceptors.',
    '- Redis cmds = delta of `INFO commandstats` calls (INFO itself excluded) over the measured run; it counts the commands a Lua script runs inside Redis too (a hit of ours is one plain GET). Redis CPU = delta of `used_cpu_user + used_cpu_sys`, which includes the server’s idle background work. Server CPU = delta of the app process’s `process.cpuUsage()` (user + system) over the same run, its own two small stats requests included.',
    `- Scenario 3: ${BURST} requests fired at once, each on its own connection, for a key never read before; ${BURSTS} bursts per server (new key each), loader calls and p99 per burst (median). Latency counts from when the burst was fired.`,
    `- Scenarios 4 and 5: open-loop load at ${RATE} req/s, evenly spaced, over a pool of at most ${OPEN_CONNECTIONS} keep-alive connections; latency counts from when a request was due (queueing for a connection included); a request unanswered after ${REQUEST_TIMEOUT_MS} ms counts as an error. req/s there is the 2xx rate achieved, not a maximum. Scenario 4: loader calls over the whole run (${EXPIRY_S} s, so about ${Math.floor((EXPIRY_S * 1000) / TTL_MS)} TTL boundaries).`,
    `- Scenario 5: ${OUTAGE_PRE_S} s of load, then the private redis-server gets SIGTERM (RedisServerProcess.stop()) and the load goes on for ${OUTAGE_S} s; figures cover the requests due after the stop. p99 is over answered 2xx requests; errors % = (non-2xx + errors + timeouts) / requests.`,
  );
  const breakdown: string[] = [];
  for (const sc of scenarios.filter((s) => s.id === '1')) {
    for (const p of PLATFORMS) {
      for (const v of sc.variants) {
        const m = med(sc.id, p, v.id);
        if (!m?.byCommand) continue;
        const parts = Object.entries(m.byCommand)
          .filter(([, n]) => n >= 0.5)
          .sort((a, b) => b[1] - a[1])
          .map(([c, n]) => `${c} ${fmt(n)}`);
        breakdown.push(`  - ${p}, ${v.label}: ${parts.join(', ') || 'none'}`);
      }
    }
  }
  if (breakdown.length)
    lines.push('- Redis commands per 1,000 hit requests, by command:', ...breakdown);
  lines.push(
    `- Settings: BENCH_DURATION_S=${DURATION_S} BENCH_ROUNDS=${ROUNDS} BENCH_WARMUP_S=${WARMUP_S} BENCH_CONNECTIONS=${CONNECTIONS} BENCH_OPEN_CONNECTIONS=${OPEN_CONNECTIONS} BENCH_BURST=${BURST} BENCH_BURSTS=${BURSTS} BENCH_LOADER_MS=${LOADER_MS} BENCH_RATE=${RATE} BENCH_TTL_MS=${TTL_MS} BENCH_STALE_TTL_MS=${STALE_TTL_MS} BENCH_EXPIRY_S=${EXPIRY_S} BENCH_OUTAGE_PRE_S=${OUTAGE_PRE_S} BENCH_OUTAGE_S=${OUTAGE_S}${CPU_PROF_DIR ? ' BENCH_CPU_PROF_DIR set: servers ran under --cpu-prof, figures not comparable' : ''}.`,
  );
  if (meta.failures.length) {
    lines.push('', '## Failures', '', ...meta.failures.map((f) => `- ${f}`));
  }
  return lines.join('\n') + '\n';
}

// --- main --------------------------------------------------------------------------------

function rotate<T>(arr: T[], n: number): T[] {
  const k = arr.length ? n % arr.length : 0;
  return [...arr.slice(k), ...arr.slice(0, k)];
}

async function main(): Promise<void> {
  const started = Date.now();
  const cpu0 = cpuTimes();
  startWatchdog(MAX_RUN_S, () =>
    console.error(`bench: still running after ${MAX_RUN_S} s, giving up`),
  );

  if (!existsSync(SERVER_JS)) throw new Error(`${SERVER_JS} is missing: build with tsc first`);
  if (PLATFORMS.length === 0) throw new Error('BENCH_PLATFORMS names no platform');
  if (CPU_PROF_DIR) mkdirSync(resolve(CPU_PROF_DIR), { recursive: true });
  copyLuaAssets();
  const redisVersion = redisServerVersion();
  const scenarios = [hits, coldBurst, expiry, outage].filter((s) => SCENARIOS.has(s.id));
  if (VARIANTS)
    for (const sc of scenarios) sc.variants = sc.variants.filter((v) => VARIANTS.includes(v.id));
  const results: Results = new Map();
  const failures: string[] = [];
  console.log(machineLine('cache', redisVersion));

  for (let round = 0; round < ROUNDS; round++) {
    for (const sc of scenarios) {
      for (const p of rotate(PLATFORMS, round)) {
        for (const v of rotate(sc.variants, round)) {
          const t0 = Date.now();
          try {
            const m = await sc.measure(p, v);
            const k = keyOf(sc.id, p, v.id);
            results.set(k, [...(results.get(k) ?? []), m]);
            console.log(
              `round ${round + 1}/${ROUNDS} scenario ${sc.id} ${p} ${v.label}: ` +
                `req/s ${fmt(m.reqPerSec)} p99 ${fmt(m.p99Ms, 1)} ms loads ${fmt(m.loads)} ` +
                `errors ${fmt(m.errorPct, 1)} % cmds/1k ${fmt(m.cmdsPer1k)} redis cpu ms/1k ${fmt(m.cpuMsPer1k, 1)} ` +
                `server cpu ms/1k ${fmt(m.serverCpuMsPer1k)} ` +
                `(${((Date.now() - t0) / 1000).toFixed(1)} s)`,
            );
          } catch (err) {
            const msg = `round ${round + 1} scenario ${sc.id} ${p} ${v.label}: ${(err as Error).message.split('\n')[0]}`;
            failures.push(msg);
            console.error(`FAILED ${msg}\n${(err as Error).stack ?? ''}`);
          }
          await sleep(200);
        }
      }
    }
  }

  const cpu1 = cpuTimes();
  const dt = cpu0 && cpu1 ? cpu1.total - cpu0.total : 0;
  const md = report(scenarios, results, {
    cpu:
      cpu0 && cpu1 && dt > 0
        ? {
            busyPct: (100 * (dt - (cpu1.idle - cpu0.idle))) / dt,
            stealPct: (100 * (cpu1.steal - cpu0.steal)) / dt,
          }
        : undefined,
    startedAt: new Date(started),
    seconds: (Date.now() - started) / 1000,
    redisVersion,
    failures,
  });
  const file = writeResults(process.env.BENCH_RESULTS_FILE ?? 'cache-latest.md', md);
  console.log(`\n${md}`);
  console.log(`written to ${relative(process.cwd(), file) || file}`);
  if (failures.length) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  killEverything();
  process.exit(1);
});
