/**
 * Whole-request benchmark (issue 13, "the whole request, not just the cache"): the built app
 * itself (`dist/main.js`, embedded defaults: its own redis-server and PGlite in a temporary
 * DATA_DIR, `APP_ROLE=all`, `RATE_LIMIT` high) serving `GET /api/users/1` (cached,
 * rate-limited, timed, logged, with a request id) against `GET /health/live` of the same
 * process (no rate limit, no cache, no request log line) and against the cache benchmark's
 * no-cache ceiling (bench/cache/server.ts `GET /ceiling/1`: a bare Nest app on the same
 * platform, no logger, no guard, against a private redis-server). Each per-request feature is
 * then turned off through the app's own configuration, one at a time and all at once, to give
 * its share of the request.
 *
 * Variants (BENCH_VARIANTS, default all but `cost`), each in a fresh process:
 * - `ceiling`       bench/cache/server.js, `GET /ceiling/1`
 * - `full`          the app as configured below: `GET /api/users/1`, then `GET /health/live`
 * - `no-ratelimit`  RATE_LIMIT=off (no EVALSHA per request)
 * - `no-cmdmetrics` REDIS_COMMAND_METRICS=false (no ioredis tracing channel)
 * - `no-httpmetrics` HTTP_METRICS=false (no `http_request_duration_seconds` listener)
 * - `no-loglines`   LOG_LEVEL=warn (the request logger runs, its `request completed` line is not written)
 * - `no-logcontext` LOG_REQUEST_CONTEXT=false (the request line, no AsyncLocalStorage store for the app's lines)
 * - `no-reqlogger`  LOG_REQUESTS=false (no request logger at all: no line, no AsyncLocalStorage store)
 * - `bare`          all five off: what is left is the framework, request ids, the identity
 *                   middleware, the cache interceptor and its one Redis GET
 * - `cost`          REDIS_REQUEST_COST=true on top of `full` (off by default in the app)
 * - `approx`        RATE_LIMIT_MODE=approximate on top of `full` (local leases drawn from Redis)
 * - `baseline`      with BENCH_BASELINE_APP=<another build's dist/main.js>: that build, full stack
 *
 * The app's log lines go to a file in its DATA_DIR (as a deployment's go to a pipe or the
 * journal), counted after each run as a check; before each run one request checks that the
 * variant is what it says (X-Cache HIT, RateLimit header present or not), after it `/metrics`
 * shows the HTTP histogram or not.
 *
 *   npm run bench:stack                                  # 3 rounds, both platforms, ≈ 10 min
 *   BENCH_ROUNDS=1 BENCH_DURATION_S=2 BENCH_PLATFORMS=fastify npm run bench:stack   # smoke
 *
 * Settings: BENCH_DURATION_S [5] and BENCH_WARMUP_S [1] per measured route; BENCH_ROUNDS [3];
 * BENCH_CONNECTIONS [50]; BENCH_PLATFORMS [fastify,express]; BENCH_VARIANTS [all but cost], and
 * BENCH_VARIANTS_FASTIFY / BENCH_VARIANTS_EXPRESS for one platform (e.g. `ceiling,full,bare`);
 * BENCH_RATE_LIMIT [100000000/60s]; BENCH_APP_ROLE [all]; BENCH_RESULTS_FILE [stack-latest.md];
 * BENCH_MAX_RUN_S [1500].
 */
import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { readServiceState } from '../../src/embedded';
import { freePort } from '../../src/redis';
import { throughput, warmKey } from '../cache/load';
import { redisDelta, redisSnapshot } from '../lib/redis-cost';
import {
  copyLuaAssets,
  installCleanupHandlers,
  killEverything,
  machineLine,
  redisServerVersion,
  ROOT,
  startWatchdog,
  stopChild,
  withServerOnPrivateRedis,
  writeResults,
} from '../lib/runner';
import { median, num, sleep } from '../lib/util';

// --- settings ----------------------------------------------------------------------------

const DURATION_S = num('BENCH_DURATION_S', 5, 0.5);
const WARMUP_S = num('BENCH_WARMUP_S', Math.min(1, DURATION_S), 0);
const ROUNDS = Math.round(num('BENCH_ROUNDS', 3, 1));
const CONNECTIONS = Math.round(num('BENCH_CONNECTIONS', 50, 1));
const MAX_RUN_S = num('BENCH_MAX_RUN_S', 1500, 10);
const RATE_LIMIT = process.env.BENCH_RATE_LIMIT ?? '100000000/60s';
const APP_ROLE = process.env.BENCH_APP_ROLE ?? 'all';
const READY_TIMEOUT_MS = 60_000;
/** The full stack must keep at least this share of the ceiling's req/s on Fastify (issue 13). */
const TARGET = 0.8;

type Platform = 'fastify' | 'express';
const PLATFORMS = (process.env.BENCH_PLATFORMS ?? 'fastify,express')
  .split(',')
  .map((s) => s.trim())
  .filter((s): s is Platform => s === 'fastify' || s === 'express');

const APP_JS = join(ROOT, 'dist', 'main.js');
/**
 * BENCH_BASELINE_APP: another build's `dist/main.js` (e.g. main's, built in a git worktree),
 * run as variant `baseline` with the full stack's settings, so a change is compared with the
 * code before it in one interleaved run.
 */
const BASELINE_JS = process.env.BENCH_BASELINE_APP;
const CEILING_JS = join(__dirname, '..', 'cache', 'server.js');
const CLK_TCK = 100; // USER_HZ on Linux: /proc/<pid>/stat times are in 1/100 s

interface Variant {
  id: string;
  label: string;
  /** App environment on top of the base; undefined for the ceiling server. */
  env?: Record<string, string>;
  /** What the variant turned off, for the share table. */
  off?: string;
  /** Another build of the app (BENCH_BASELINE_APP); default dist/main.js of this checkout. */
  appJs?: string;
}

const ALL_VARIANTS: Variant[] = [
  { id: 'ceiling', label: 'bench ceiling (bench/cache/server.ts `GET /ceiling/1`)' },
  { id: 'full', label: 'full stack', env: {} },
  {
    id: 'no-ratelimit',
    label: 'RATE_LIMIT=off',
    env: { RATE_LIMIT: 'off' },
    off: 'rate limiter (one EVALSHA)',
  },
  {
    id: 'approx',
    label: 'RATE_LIMIT_MODE=approximate',
    env: { RATE_LIMIT_MODE: 'approximate' },
  },
  {
    id: 'no-cmdmetrics',
    label: 'REDIS_COMMAND_METRICS=false',
    env: { REDIS_COMMAND_METRICS: 'false' },
    off: 'Redis command metrics',
  },
  {
    id: 'no-httpmetrics',
    label: 'HTTP_METRICS=false',
    env: { HTTP_METRICS: 'false' },
    off: 'HTTP histogram',
  },
  {
    id: 'no-loglines',
    label: 'LOG_LEVEL=warn',
    env: { LOG_LEVEL: 'warn' },
    off: 'request log line (written)',
  },
  {
    id: 'no-logcontext',
    label: 'LOG_REQUEST_CONTEXT=false',
    env: { LOG_REQUEST_CONTEXT: 'false' },
    off: 'request id on the app’s lines (the AsyncLocalStorage store)',
  },
  {
    id: 'no-reqlogger',
    label: 'LOG_REQUESTS=false',
    env: { LOG_REQUESTS: 'false' },
    off: 'request logger (the line and the AsyncLocalStorage store)',
  },
  {
    id: 'bare',
    label: 'all five off',
    env: {
      RATE_LIMIT: 'off',
      REDIS_COMMAND_METRICS: 'false',
      HTTP_METRICS: 'false',
      LOG_LEVEL: 'warn',
      LOG_REQUESTS: 'false',
    },
    off: 'all of the above',
  },
  {
    id: 'cost',
    label: 'REDIS_REQUEST_COST=true',
    env: { REDIS_REQUEST_COST: 'true' },
  },
  ...(BASELINE_JS
    ? [{ id: 'baseline', label: `full stack of ${BASELINE_JS}`, env: {}, appJs: BASELINE_JS }]
    : []),
];
const pick = (list: string | undefined): Variant[] | undefined =>
  list ? ALL_VARIANTS.filter((v) => list.split(',').includes(v.id)) : undefined;
const VARIANTS =
  pick(process.env.BENCH_VARIANTS) ??
  ALL_VARIANTS.filter((v) => v.id !== 'cost' && v.id !== 'approx');
/** BENCH_VARIANTS_FASTIFY / BENCH_VARIANTS_EXPRESS: another list for one platform (a shorter run). */
const variantsFor = (p: Platform): Variant[] =>
  pick(process.env[`BENCH_VARIANTS_${p.toUpperCase()}`]) ?? VARIANTS;

// --- processes ---------------------------------------------------------------------------

installCleanupHandlers();
const liveApps = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of liveApps) c.kill('SIGKILL'); // the app's watchdog then stops its redis-server
});

/** user + system CPU ms of a process so far, from /proc (Linux). */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK; // fields 14 and 15 (utime, stime)
}

/** Machine-wide CPU counters from /proc/stat, for the busy and steal share of the run. */
function cpuTimes(): { total: number; idle: number; steal: number } | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1);
    const n = f.map(Number);
    return { total: n.slice(0, 8).reduce((a, b) => a + b, 0), idle: n[3] + n[4], steal: n[7] };
  } catch {
    return undefined;
  }
}

interface Server {
  url: string;
  pid: number;
  /** INFO connection to the Redis the server uses (not its own connection). */
  info: Redis;
  /** Lines the server logged during `fn` (the app only). */
  logLines?: () => number;
}

/** The app: `node dist/main.js` with embedded defaults in `dataDir`, ready when /health/ready is 200. */
async function withApp<T>(
  platform: Platform,
  dataDir: string,
  env: Record<string, string>,
  fn: (s: Server) => Promise<T>,
  appJs = APP_JS,
): Promise<T> {
  const port = await freePort();
  const logFile = join(dataDir, `app-${port}.log`);
  const out = openSync(logFile, 'w');
  const child = spawn(process.execPath, [appJs], {
    cwd: dirname(dirname(appJs)),
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      PORT: String(port),
      DATA_DIR: dataDir,
      HTTP_PLATFORM: platform,
      APP_ROLE,
      RATE_LIMIT,
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', out, 'pipe'],
  });
  closeSync(out);
  liveApps.add(child);
  child.once('exit', () => liveApps.delete(child));
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let info: Redis | undefined;
  const t0 = performance.now();
  try {
    const url = `http://127.0.0.1:${port}`;
    const deadline = t0 + READY_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`app exited ${child.exitCode}: ${stderr}`);
      if (performance.now() > deadline) throw new Error(`app not ready: ${stderr}`);
      const ok = await fetch(`${url}/health/ready`)
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) break;
      await sleep(50);
    }
    console.log(
      `  ${platform} ${JSON.stringify(env)}: ready in ${(performance.now() - t0).toFixed(0)} ms`,
    );
    const redis = readServiceState(join(dataDir, 'embedded'), 'redis');
    if (!redis) throw new Error('no embedded redis-server state in DATA_DIR');
    info = new Redis(redis.url, { maxRetriesPerRequest: 1, lazyConnect: true });
    await info.connect();
    const countLines = () =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"request completed"')).length;
    return await fn({ url, pid: child.pid!, info, logLines: countLines });
  } finally {
    info?.disconnect();
    const t1 = performance.now();
    await stopChild(child, 15_000);
    console.log(`  stopped in ${(performance.now() - t1).toFixed(0)} ms`);
    rmSync(logFile, { force: true });
  }
}

/** The ceiling: bench/cache/server.js against a fresh private redis-server. */
async function withCeiling<T>(platform: Platform, fn: (s: Server) => Promise<T>): Promise<T> {
  const env = { HTTP_PLATFORM: platform, BENCH_LOADER_MS: '0' };
  return withServerOnPrivateRedis('nrp-bench-stack-', CEILING_JS, env, ({ url, child, redis }) =>
    fn({ url, pid: child.pid!, info: redis.admin }),
  );
}

// --- one measurement ---------------------------------------------------------------------

interface Metrics {
  reqPerSec: number;
  p99Ms: number;
  /** server process CPU (user + system) per request, µs */
  cpuUsPerReq: number;
  /** Redis commands per request (in-script commands included; background work of the app too) */
  redisCmdsPerReq: number;
  badPct: number;
  requests: number;
  /** `request completed` lines per request (the app only) */
  logLinesPerReq?: number;
}

async function measure(s: Server, path: string): Promise<Metrics> {
  const target = `${s.url}${path}`;
  if (WARMUP_S > 0) await throughput(target, CONNECTIONS, WARMUP_S);
  const lines0 = s.logLines?.();
  const cpu0 = cpuMsOf(s.pid);
  const before = await redisSnapshot(s.info);
  const r = await throughput(target, CONNECTIONS, DURATION_S);
  const after = await redisSnapshot(s.info);
  const cpu1 = cpuMsOf(s.pid);
  const lines1 = s.logLines?.();
  const d = redisDelta(before, after);
  return {
    reqPerSec: r.reqPerSec,
    p99Ms: r.p99Ms,
    cpuUsPerReq: r.total > 0 ? ((cpu1 - cpu0) * 1000) / r.total : NaN,
    redisCmdsPerReq: r.total > 0 ? d.commands / r.total : NaN,
    badPct: r.total + r.errors > 0 ? (100 * (r.non2xx + r.errors)) / (r.total + r.errors) : NaN,
    requests: r.total,
    logLinesPerReq:
      lines0 !== undefined && lines1 !== undefined && r.total > 0
        ? (lines1 - lines0) / r.total
        : undefined,
  };
}

/** One request that shows the variant is what it says; throws otherwise. */
async function checkVariant(url: string, v: Variant): Promise<void> {
  await warmKey(`${url}/api/users/1`, true);
  const res = await fetch(`${url}/api/users/1`);
  await res.arrayBuffer();
  const limited = res.headers.has('ratelimit');
  const expectLimited = v.env?.RATE_LIMIT !== 'off';
  if (
    res.status !== 200 ||
    res.headers.get('x-cache') !== 'HIT' ||
    !res.headers.has('x-request-id')
  )
    throw new Error(
      `${v.id}: GET /api/users/1 → ${res.status}, X-Cache ${res.headers.get('x-cache')}`,
    );
  if (limited !== expectLimited)
    throw new Error(`${v.id}: RateLimit header ${limited ? 'present' : 'absent'}`);
}

/** Whether /metrics has observations of the HTTP histogram for the users route. */
async function httpHistogramObserved(url: string): Promise<boolean> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return /^http_request_duration_seconds_count\{[^}]*route="\/api\/users\/:id"/m.test(text);
}

type Key = `${Platform}|${string}`; // platform | variant id or `${id}:live`
type Results = Map<Key, Metrics[]>; // one per round

async function runVariant(
  platform: Platform,
  v: Variant,
  round: number,
  dataDir: string,
  results: Results,
): Promise<void> {
  const put = (id: string, m: Metrics) => {
    const k: Key = `${platform}|${id}`;
    results.set(k, [...(results.get(k) ?? []), m]);
    console.log(
      `round ${round + 1}/${ROUNDS} ${platform} ${id}: ${fmt(m.reqPerSec)} req/s, p99 ${fmt(m.p99Ms, 1)} ms, ` +
        `server CPU ${fmt(m.cpuUsPerReq)} µs/req, Redis ${fmt(m.redisCmdsPerReq, 2)} cmds/req, ` +
        `bad ${fmt(m.badPct, 1)} %${m.logLinesPerReq === undefined ? '' : `, log lines/req ${fmt(m.logLinesPerReq, 2)}`}`,
    );
  };
  if (!v.env) {
    await withCeiling(platform, async (s) => {
      await warmKey(`${s.url}/ceiling/1`, false);
      put(v.id, await measure(s, '/ceiling/1'));
    });
    return;
  }
  await withApp(
    platform,
    dataDir,
    v.env,
    async (s) => {
      await checkVariant(s.url, v);
      await warmKey(`${s.url}/health/live`, false);
      // full: the users route and /health/live of the same process, in turn first.
      const paths =
        v.id === 'full'
          ? round % 2
            ? ['/health/live', '/api/users/1']
            : ['/api/users/1', '/health/live']
          : ['/api/users/1'];
      for (const p of paths) put(p === '/health/live' ? `${v.id}:live` : v.id, await measure(s, p));
      const observed = await httpHistogramObserved(s.url);
      if (observed !== (v.env?.HTTP_METRICS !== 'false'))
        throw new Error(`${v.id}: HTTP histogram ${observed ? 'observed' : 'empty'}`);
    },
    v.appJs,
  );
}

// --- report ------------------------------------------------------------------------------

const fmt = (x: number | undefined, digits = 0): string =>
  x === undefined || !Number.isFinite(x)
    ? '–'
    : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const x2 = (r: number | undefined): string =>
  r === undefined || !Number.isFinite(r) ? '–' : `${r.toFixed(2)}×`;
const pct = (r: number | undefined): string =>
  r === undefined || !Number.isFinite(r) ? '–' : `${(100 * r).toFixed(0)} %`;

function report(
  results: Results,
  meta: { machine: string; startedAt: Date; seconds: number; failures: string[]; cpu?: string },
): { md: string; fastifyFull?: number } {
  const runs = (p: Platform, id: string) => results.get(`${p}|${id}`) ?? [];
  const med = (p: Platform, id: string, f: (m: Metrics) => number | undefined) => {
    const vals = runs(p, id)
      .map(f)
      .filter((x): x is number => x !== undefined);
    return vals.length ? median(vals) : undefined;
  };
  /** Median of per-round ratios a/b (same round, same platform); also the per-round list. */
  const perRound = (
    p: Platform,
    a: string,
    b: string,
    f: (m: Metrics) => number,
  ): { med?: number; list: number[] } => {
    const ra = runs(p, a);
    const rb = runs(p, b);
    const list: number[] = [];
    for (let i = 0; i < Math.min(ra.length, rb.length); i++) list.push(f(ra[i]) / f(rb[i]));
    return { med: list.length ? median(list) : undefined, list };
  };
  const rps = (m: Metrics) => m.reqPerSec;
  const cpuInv = (m: Metrics) => 1 / m.cpuUsPerReq;

  const L: string[] = [];
  L.push('# Whole-request benchmark (`npm run bench:stack`)', '', meta.machine, '');
  L.push(
    `Run ${meta.startedAt.toISOString()}, ${Math.round(meta.seconds)} s; ${ROUNDS} round(s), platforms and variants interleaved (order rotated each round), ` +
      `each variant in a fresh process; ${WARMUP_S} s warm-up then ${DURATION_S} s measured per route, autocannon ${CONNECTIONS} connections, pipelining 1, ` +
      `in the runner; load generator, server and redis-server share the machine's ${cpus().length} cores${meta.cpu ? ` (${meta.cpu})` : ''}. ` +
      `The app: \`node dist/main.js\`, embedded defaults (its own redis-server, AOF on, and PGlite in a temporary DATA_DIR), APP_ROLE=${APP_ROLE}, ` +
      `RATE_LIMIT=${RATE_LIMIT}, LOG_LEVEL=info, log lines to a file. req/s and p99: median of rounds; ` +
      `× ceiling, × full: median of per-round ratios of req/s (in brackets: by server CPU per request, the ceiling's or the full stack's divided by the variant's).`,
  );
  L.push('');
  L.push(
    '| platform | variant | route | req/s (min–max) | p99 ms | × ceiling | × full stack | server CPU µs/req | Redis cmds/req | request log lines/req | non-2xx/errors % |',
  );
  L.push('|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|');
  const rowsOf = (p: Platform) => {
    const rows: { id: string; label: string; route: string }[] = [];
    for (const v of variantsFor(p)) {
      if (!v.env) rows.push({ id: v.id, label: v.label, route: '`GET /ceiling/1`' });
      else {
        rows.push({ id: v.id, label: v.label, route: '`GET /api/users/1`' });
        if (v.id === 'full')
          rows.push({ id: 'full:live', label: 'full stack', route: '`GET /health/live`' });
      }
    }
    return rows;
  };
  for (const p of PLATFORMS) {
    for (const r of rowsOf(p)) {
      const rr = runs(p, r.id);
      if (rr.length === 0) {
        L.push(`| ${p} | ${r.label} | ${r.route} | failed | | | | | | | |`);
        continue;
      }
      const vals = rr.map(rps);
      const c = perRound(p, r.id, 'ceiling', rps);
      const cc = perRound(p, r.id, 'ceiling', cpuInv);
      const f = perRound(p, r.id, 'full', rps);
      const fc = perRound(p, r.id, 'full', cpuInv);
      L.push(
        `| ${p} | ${r.label} | ${r.route} | ${fmt(med(p, r.id, rps))} (${fmt(Math.min(...vals))}–${fmt(Math.max(...vals))}) | ` +
          `${fmt(
            med(p, r.id, (m) => m.p99Ms),
            1,
          )} | ${r.id === 'ceiling' ? '1.00×' : `${x2(c.med)} (${x2(cc.med)})`} | ` +
          `${r.id === 'full' ? '1.00×' : r.id === 'ceiling' ? '–' : `${x2(f.med)} (${x2(fc.med)})`} | ` +
          `${fmt(med(p, r.id, (m) => m.cpuUsPerReq))} | ${fmt(
            med(p, r.id, (m) => m.redisCmdsPerReq),
            2,
          )} | ${fmt(
            med(p, r.id, (m) => m.logLinesPerReq),
            2,
          )} | ${fmt(
            med(p, r.id, (m) => m.badPct),
            1,
          )} |`,
      );
    }
  }

  L.push('', '## Each feature’s share of the full request', '');
  L.push(
    'Share = 1 − (full stack ÷ variant without it), per round, median: the part of a full request’s time (by req/s) or of its server CPU that the feature costs. ' +
      'Negative: the variant without it was slower in that run (noise).',
    '',
  );
  L.push(
    '| platform | turned off | req/s without it × full | share by req/s (rounds) | share by server CPU (rounds) |',
  );
  L.push('|---|---|--:|--:|--:|');
  for (const p of PLATFORMS) {
    for (const v of variantsFor(p).filter((x) => x.off)) {
      const f = perRound(p, 'full', v.id, rps);
      const fc = perRound(p, 'full', v.id, cpuInv);
      const inv = perRound(p, v.id, 'full', rps);
      const share = (l: number[]) => l.map((r) => 1 - r);
      L.push(
        `| ${p} | ${v.off} (\`${v.label}\`) | ${x2(inv.med)} | ${pct(f.med === undefined ? undefined : 1 - f.med)} (${share(f.list).map(pct).join(' / ')}) | ` +
          `${pct(fc.med === undefined ? undefined : 1 - fc.med)} (${share(fc.list).map(pct).join(' / ')}) |`,
      );
    }
  }

  L.push('', '## Target', '');
  let fastifyFull: number | undefined;
  for (const p of PLATFORMS) {
    const c = perRound(p, 'full', 'ceiling', rps);
    const cc = perRound(p, 'full', 'ceiling', cpuInv);
    const live = perRound(p, 'full', 'full:live', rps);
    if (p === 'fastify') fastifyFull = c.med;
    const verdict =
      c.med === undefined
        ? 'not measured'
        : p === 'fastify'
          ? c.med >= TARGET
            ? `**met** (≥ ${TARGET}×)`
            : `**not met** (< ${TARGET}×)`
          : `(the ${TARGET}× target is for Fastify)`;
    L.push(
      `- **${p}**: full stack \`GET /api/users/1\` = ${x2(c.med)} the ceiling by req/s (rounds ${c.list.map((r) => r.toFixed(2)).join(' / ')}), ` +
        `${x2(cc.med)} by server CPU per request; ${x2(live.med)} its own \`GET /health/live\`. ${verdict}.`,
    );
  }

  L.push('', '## Notes', '');
  L.push(
    '- `full stack`: every request passes the platform’s request id, the HTTP histogram listener, the request logger (src/http/request-logger.ts: a `request` listener on the Node server that enters nestjs-pino’s AsyncLocalStorage store and writes one line at the end), the session and identity middlewares (through @fastify/middie on Fastify; no cookie, no credential: anonymous, no Redis command), the rate-limit guard (one EVALSHA of the sliding-window script) and, on the users route, the `@Cached` interceptor (one GET, a hit) with Redis command metrics on the ioredis tracing channel; the request log line is written at info. `/health/live` skips the guard (`@SkipThrottle`) and the log line, not the request logger’s store, the histogram or the request id.',
    '- The ceiling is the cache benchmark’s no-cache route: a Nest app with the request id, the HTTP histogram listener, the Redis module and the cache module’s global interceptor (which lets the route through), but no logger, no session or identity middleware, no guard and no Redis command per request. It is not the app without its features: that is `all five off`, which keeps the framework, request ids, the session and identity middlewares, the cache read and the app’s other modules.',
    '- Redis cmds/req counts INFO commandstats of the app’s redis-server over the measured run (commands inside scripts included), the app’s background work (`APP_ROLE=all`: queue workers, feed and realtime readers) too.',
    '- Request ids cannot be turned off; they are in every variant, the ceiling included.',
    `- Settings: BENCH_DURATION_S=${DURATION_S} BENCH_WARMUP_S=${WARMUP_S} BENCH_ROUNDS=${ROUNDS} BENCH_CONNECTIONS=${CONNECTIONS} BENCH_PLATFORMS=${PLATFORMS.join(',')} ${PLATFORMS.map(
      (p) =>
        `variants on ${p}: ${variantsFor(p)
          .map((v) => v.id)
          .join(',')}`,
    ).join('; ')}; BENCH_RATE_LIMIT=${RATE_LIMIT} BENCH_APP_ROLE=${APP_ROLE}.`,
  );
  if (meta.failures.length) L.push('', '## Failures', '', ...meta.failures.map((f) => `- ${f}`));
  return { md: L.join('\n') + '\n', fastifyFull };
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
  for (const f of [APP_JS, CEILING_JS])
    if (!existsSync(f)) throw new Error(`${f} is missing: npm run bench:stack builds it`);
  if (PLATFORMS.length === 0) throw new Error('BENCH_PLATFORMS names no platform');
  if (PLATFORMS.some((p) => variantsFor(p).length === 0))
    throw new Error('BENCH_VARIANTS (or BENCH_VARIANTS_<PLATFORM>) names no variant');
  copyLuaAssets();
  const machine = machineLine('coord', redisServerVersion());
  console.log(machine);
  const dataDir = mkdtempSync(join(tmpdir(), 'nrp-bench-stack-'));
  const results: Results = new Map();
  const failures: string[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const p of rotate(PLATFORMS, round)) {
        for (const v of rotate(variantsFor(p), round)) {
          try {
            await runVariant(p, v, round, dataDir, results);
          } catch (err) {
            const msg = `round ${round + 1} ${p} ${v.id}: ${(err as Error).message.split('\n')[0]}`;
            failures.push(msg);
            console.error(`FAILED ${msg}`);
          }
          await sleep(200);
        }
      }
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  const cpu1 = cpuTimes();
  const dt = cpu0 && cpu1 ? cpu1.total - cpu0.total : 0;
  const { md, fastifyFull } = report(results, {
    machine,
    startedAt: new Date(started),
    seconds: (Date.now() - started) / 1000,
    failures,
    cpu:
      cpu0 && cpu1 && dt > 0
        ? `machine-wide over the run: ${((100 * (dt - (cpu1.idle - cpu0.idle))) / dt).toFixed(0)} % busy, ${((100 * (cpu1.steal - cpu0.steal)) / dt).toFixed(1)} % stolen`
        : undefined,
  });
  const file = writeResults(process.env.BENCH_RESULTS_FILE ?? 'stack-latest.md', md);
  console.log(`\n${md}`);
  console.log(`written to ${relative(process.cwd(), file) || file}`);
  if (fastifyFull !== undefined)
    console.log(
      `full stack on Fastify: ${fastifyFull.toFixed(2)}× the ceiling (target ${TARGET}×)`,
    );
  if (failures.length) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  killEverything();
  for (const c of liveApps) c.kill('SIGKILL');
  process.exit(1);
});
