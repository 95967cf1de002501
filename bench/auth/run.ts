/**
 * Auth benchmark (issue 9): one protected GET with a Bearer token and with a session cookie
 * (our SessionModule + AuthModule), the same route public, the seed's approach (`GET
 * blacklist:<raw token>` then verify) and, on Express, express-session + connect-redis on
 * node-redis; Fastify and Express in one run. Each (platform, variant) runs in a fresh server
 * child against a fresh private redis-server; variants are interleaved (a rotated order each
 * round); req/s and p99 are medians of rounds, ratios medians of per-round ratios to the public
 * route of the same platform and round. Prints one markdown table and writes it to
 * bench/results/auth-latest.md.
 *
 *   npm run bench:auth                                   # default, ≈ 6 minutes
 *   BENCH_DURATION_S=1 BENCH_ROUNDS=1 npm run bench:auth # smoke run, ≈ 1.5 minutes
 *
 * Settings (environment, defaults in brackets): BENCH_DURATION_S [5] per measured run;
 * BENCH_WARMUP_S [1] per server before it; BENCH_ROUNDS [3]; BENCH_CONNECTIONS [50];
 * BENCH_MONITOR_REQUESTS [100] sequential requests per server counted with MONITOR (round
 * trips vs commands run inside scripts); BENCH_PLATFORMS [fastify,express]; BENCH_VARIANTS
 * [all]; BENCH_MAX_RUN_S [1800], a watchdog that ends the whole run; BENCH_CPU_PROF_DIR
 * [unset]: every server child runs with `--cpu-prof` and writes its profile there (the log
 * names each child's pid; summarize one with `node dist-bench/bench/auth/profile.js <file>`;
 * figures of a profiled run are not comparable).
 */
import autocannon from 'autocannon';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { RedisDelta, redisDelta, redisSnapshot } from '../lib/redis-cost';
import { monitorWhile } from '../lib/redis-monitor';
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
import { median, num, sleep } from '../lib/util';
import { checkWiring, credentialHeaders, CredentialSpec, getJson, serverStats } from './client';
import type { Stack } from './server';

// --- settings ------------------------------------------------------------------------------

const DURATION_S = num('BENCH_DURATION_S', 5, 0.5);
const WARMUP_S = num('BENCH_WARMUP_S', Math.min(1, DURATION_S), 0);
const ROUNDS = Math.round(num('BENCH_ROUNDS', 3, 1));
const CONNECTIONS = Math.round(num('BENCH_CONNECTIONS', 50, 1));
const MONITOR_REQUESTS = Math.round(num('BENCH_MONITOR_REQUESTS', 100, 1));
const MAX_RUN_S = num('BENCH_MAX_RUN_S', 1800, 10);
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF_DIR?.trim() || undefined;
/** Wait after a load run for the requests still in flight when autocannon stopped. */
const SETTLE_MS = 500;

type Platform = 'fastify' | 'express';
const PLATFORMS = (process.env.BENCH_PLATFORMS ?? 'fastify,express')
  .split(',')
  .map((s) => s.trim())
  .filter((s): s is Platform => s === 'fastify' || s === 'express');

interface Variant extends CredentialSpec {
  label: string;
  stack: Stack;
  platforms: Platform[];
  /** counted against the targets (authenticated ≥ 0.9× public, one Redis command) */
  target: boolean;
}

const BOTH: Platform[] = ['fastify', 'express'];
const ALL_VARIANTS: Variant[] = [
  {
    id: 'public',
    label: 'public route (ours: identity middleware runs, no credentials)',
    stack: 'ours',
    path: '/public',
    credential: 'none',
    platforms: BOTH,
    target: false,
  },
  {
    id: 'bearer',
    label: 'ours: `@Authenticated()`, Bearer access token',
    stack: 'ours',
    path: '/private',
    credential: 'bearer',
    platforms: BOTH,
    target: true,
  },
  {
    id: 'cookie',
    label: 'ours: `@Authenticated()`, session cookie',
    stack: 'ours',
    path: '/private',
    credential: 'cookie',
    cookieName: 'sid',
    platforms: BOTH,
    target: true,
  },
  {
    id: 'seed',
    label: 'seed: `GET blacklist:<raw token>`, then `jwt.verifyAsync`',
    stack: 'seed',
    path: '/seed',
    credential: 'bearer',
    platforms: BOTH,
    target: false,
  },
  {
    id: 'express-session',
    label: 'express-session 1.19 + connect-redis 10 (node-redis 6)',
    stack: 'connect-redis',
    path: '/es',
    credential: 'cookie',
    cookieName: 'connect.sid',
    platforms: ['express'],
    target: false,
  },
  {
    id: 'public-bare',
    label: 'public route, app without Session/Auth modules',
    stack: 'seed',
    path: '/public',
    credential: 'none',
    platforms: BOTH,
    target: false,
  },
];
const VARIANT_FILTER = process.env.BENCH_VARIANTS?.split(',').map((s) => s.trim());
const VARIANTS = ALL_VARIANTS.filter((v) => !VARIANT_FILTER || VARIANT_FILTER.includes(v.id));

const SERVER_JS = join(__dirname, 'server.js');

installCleanupHandlers();

const log = (msg: string): void => {
  process.stderr.write(`[bench:auth ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};

// --- formatting ----------------------------------------------------------------------------

const fmt = (x: number | undefined, digits = 0): string =>
  x === undefined || !Number.isFinite(x)
    ? 'n/a'
    : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const times = (x: number | undefined): string =>
  x !== undefined && Number.isFinite(x) ? `${x.toFixed(2)}×` : 'n/a';
const range = (v: number[]): string =>
  v.length > 1 ? ` (${fmt(Math.min(...v))}–${fmt(Math.max(...v))})` : '';

// --- one measured run ----------------------------------------------------------------------

interface Sample {
  round: number;
  reqPerSec: number;
  p99Ms: number;
  /** requests the server handled during the measured run (response finished or connection closed) */
  requests: number;
  non2xx: number;
  errors: number;
  redis: RedisDelta;
  serverCpuMs: number;
  /** MONITOR over MONITOR_REQUESTS sequential requests: commands sent by clients / run by scripts */
  monitor: { requests: number; sent: Map<string, number>; inScripts: Map<string, number> };
  /** µs per JWT verification in the server (bearer variants), measured after the timed run */
  verifyUs?: number;
}

const samples = new Map<string, Sample[]>(); // `${platform}:${variant}`
const keyOf = (p: Platform, v: string): string => `${p}:${v}`;

function load(
  url: string,
  headers: Record<string, string>,
  durationS: number,
): Promise<autocannon.Result> {
  if (new URL(url).hostname !== '127.0.0.1') throw new Error('traffic goes to 127.0.0.1 only');
  return autocannon({
    url,
    headers,
    connections: CONNECTIONS,
    duration: durationS,
    pipelining: 1,
    timeout: 10,
  });
}

/**
 * MONITOR while `count` sequential requests run: what the server's clients sent (round trips)
 * and what scripts ran inside Redis, per command. Never part of a timed run.
 */
async function monitorRequests(
  redisUrl: string,
  url: string,
  headers: Record<string, string>,
  count: number,
): Promise<Sample['monitor']> {
  const { sent, inScripts } = await monitorWhile(redisUrl, async () => {
    for (let i = 0; i < count; i++) {
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`MONITOR run: HTTP ${res.status}`);
    }
  });
  return { requests: count, sent, inScripts };
}

async function measure(p: Platform, v: Variant, round: number): Promise<Sample> {
  const redis = await startPrivateRedis('nrp-auth-redis-');
  let child: ChildProcess | undefined;
  try {
    const env: Record<string, string> = {
      HTTP_PLATFORM: p,
      REDIS_URL: redis.url,
      BENCH_STACK: v.stack,
    };
    const started = await startChild(SERVER_JS, env, {
      execArgv: CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${resolve(CPU_PROF_DIR)}`] : [],
    });
    child = started.child;
    if (CPU_PROF_DIR) log(`  profiling ${p} ${v.id}: server pid ${child.pid}`);
    const { url } = started;
    const headers = await credentialHeaders(url, v);
    await checkWiring(url, v, headers);
    const target = `${url}${v.path}`;
    if (WARMUP_S > 0) await load(target, headers, WARMUP_S);
    await sleep(SETTLE_MS); // requests still in flight when autocannon stopped
    const monitor = await monitorRequests(redis.url, target, headers, MONITOR_REQUESTS);

    const s0 = await serverStats(url);
    const before = await redisSnapshot(redis.admin);
    const r = await load(target, headers, DURATION_S);
    await sleep(SETTLE_MS);
    const after = await redisSnapshot(redis.admin);
    const s1 = await serverStats(url);
    const verifyUs =
      v.credential === 'bearer'
        ? (await getJson<{ usPerCall: number }>(`${url}/bench/verify-cost`, { headers })).body
            .usPerCall
        : undefined;
    return {
      round,
      reqPerSec: r.requests.average,
      p99Ms: r.latency.p99,
      requests: s1.served - s0.served,
      non2xx: r.non2xx,
      errors: r.errors + r.timeouts,
      redis: redisDelta(before, after),
      serverCpuMs: s1.cpuMs - s0.cpuMs,
      monitor,
      verifyUs,
    };
  } finally {
    if (child) await stopChild(child);
    await redis.stop();
  }
}

// --- report --------------------------------------------------------------------------------

interface Summary {
  reqPerSec: number[];
  p99Ms: number;
  vsPublic: number;
  /** public's server CPU per request ÷ this variant's (median of rounds): capacity if CPU-bound */
  cpuVsPublic: number;
  /** round trips per request (MONITOR): commands the app's clients sent */
  roundTrips: number;
  sentBreakdown: string;
  /** commands run per request (INFO commandstats over the measured runs, in-script included) */
  commands: number;
  commandBreakdown: string;
  serverCpuUsPerReq: number;
  redisCpuUsPerReq: number;
  verifyUs: number;
  requests: number;
  failed: number;
  runs: number;
}

function perRequest(counts: Map<string, number>, requests: number): string {
  if (requests <= 0) return 'n/a';
  const parts = [...counts.entries()]
    .map(([cmd, n]) => [cmd, n / requests] as const)
    .filter(([, per]) => per >= 0.005)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([cmd, per]) => `${cmd} ${per.toFixed(2)}`);
  return parts.join(', ') || 'none';
}

function summarize(p: Platform, v: Variant): Summary | undefined {
  const ss = samples.get(keyOf(p, v.id)) ?? [];
  if (ss.length === 0) return undefined;
  const pub = samples.get(keyOf(p, 'public')) ?? [];
  const ratios = ss.map(
    (s) => s.reqPerSec / (pub.find((x) => x.round === s.round)?.reqPerSec ?? NaN),
  );
  const cpuPerReq = (s: Sample): number => s.serverCpuMs / s.requests;
  const cpuRatios = ss.map((s) => {
    const pr = pub.find((x) => x.round === s.round);
    return pr ? cpuPerReq(pr) / cpuPerReq(s) : NaN;
  });
  const requests = ss.reduce((a, s) => a + s.requests, 0);
  const byCommand = new Map<string, number>();
  let commands = 0;
  let redisCpuMs = 0;
  for (const s of ss) {
    commands += s.redis.commands;
    redisCpuMs += s.redis.cpuMs;
    for (const [c, n] of s.redis.byCommand) byCommand.set(c, (byCommand.get(c) ?? 0) + n);
  }
  const sent = new Map<string, number>();
  const inScripts = new Map<string, number>();
  let monitored = 0;
  for (const s of ss) {
    monitored += s.monitor.requests;
    for (const [c, n] of s.monitor.sent) sent.set(c, (sent.get(c) ?? 0) + n);
    for (const [c, n] of s.monitor.inScripts) inScripts.set(c, (inScripts.get(c) ?? 0) + n);
  }
  const totalSent = [...sent.values()].reduce((a, n) => a + n, 0);
  const totalInScripts = [...inScripts.values()].reduce((a, n) => a + n, 0);
  return {
    reqPerSec: ss.map((s) => s.reqPerSec),
    p99Ms: median(ss.map((s) => s.p99Ms)),
    vsPublic: v.id === 'public' ? 1 : median(ratios),
    cpuVsPublic: v.id === 'public' ? 1 : median(cpuRatios),
    roundTrips: monitored > 0 ? totalSent / monitored : NaN,
    sentBreakdown:
      perRequest(sent, monitored) +
      (totalInScripts > 0 ? `; inside scripts: ${perRequest(inScripts, monitored)}` : ''),
    commands: requests > 0 ? commands / requests : NaN,
    commandBreakdown: perRequest(byCommand, requests),
    serverCpuUsPerReq:
      requests > 0 ? (ss.reduce((a, s) => a + s.serverCpuMs, 0) * 1000) / requests : NaN,
    redisCpuUsPerReq: requests > 0 ? (redisCpuMs * 1000) / requests : NaN,
    verifyUs: median(ss.map((s) => s.verifyUs ?? NaN)),
    requests,
    failed: ss.reduce((a, s) => a + s.non2xx + s.errors, 0),
    runs: ss.length,
  };
}

function report(meta: {
  machine: string;
  startedAt: Date;
  seconds: number;
  failures: string[];
}): string {
  const lines: string[] = [
    '# Auth benchmark (`npm run bench:auth`)',
    '',
    meta.machine,
    '',
    `Run ${meta.startedAt.toISOString()}, ${fmt(meta.seconds)} s; ${ROUNDS} round(s), variants and platforms interleaved (rotated order each round); ` +
      `each (platform, variant) in a fresh server child process against a fresh private redis-server, ${fmt(WARMUP_S, 1)} s warm-up then ${fmt(DURATION_S, 1)} s measured, ` +
      `autocannon ${CONNECTIONS} connections, pipelining 1, in the parent; load generator, server and redis-server share the machine's cores. ` +
      'req/s: median of rounds (min–max); p99: median of rounds; × public (req/s): median of per-round ratios to the public route (ours) of the same platform and round; × public (server CPU / req): the public route’s server CPU per request divided by the variant’s, median of per-round ratios (steadier than req/s on a shared machine: what throughput would be if the server alone were CPU-bound).',
    '',
    '| Platform | Variant | req/s | p99 ms | × public (req/s) | × public (server CPU / req) | Redis round trips / req (MONITOR) | Redis commands run / req (INFO commandstats, in-script included) | server CPU µs / req | JWT verify µs / call | Redis CPU µs / req | non-2xx + errors |',
    '|---|---|--:|--:|--:|--:|---|---|--:|--:|--:|--:|',
  ];
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  for (const p of PLATFORMS) {
    for (const v of VARIANTS.filter((x) => x.platforms.includes(p))) {
      const s = summarize(p, v);
      if (!s) {
        lines.push(`| ${p} | ${cell(v.label)} | failed | | | | | | | | | |`);
        continue;
      }
      lines.push(
        `| ${p} | ${cell(v.label)} | ${fmt(median(s.reqPerSec))}${range(s.reqPerSec)} | ${fmt(s.p99Ms, 1)} | ${times(s.vsPublic)} | ${times(s.cpuVsPublic)} | ` +
          `${s.roundTrips.toFixed(2)} (${cell(s.sentBreakdown)}) | ${s.commands.toFixed(2)} (${cell(s.commandBreakdown)}) | ` +
          `${fmt(s.serverCpuUsPerReq)} | ${v.credential === 'bearer' ? fmt(s.verifyUs) : '–'} | ${fmt(s.redisCpuUsPerReq, 1)} | ${fmt(s.failed)} |`,
      );
    }
  }

  lines.push('', '## Targets (issue 9)', '');
  for (const p of PLATFORMS) {
    const parts: string[] = [];
    for (const v of VARIANTS.filter((x) => x.target && x.platforms.includes(p))) {
      const s = summarize(p, v);
      if (!s) continue;
      const speed = s.vsPublic >= 0.9 ? 'met' : '**missed**';
      const oneTrip = s.roundTrips <= 1.005 ? 'met' : '**missed**';
      const oneCmd = s.commands <= 1.005 ? 'met' : '**missed**';
      parts.push(
        `${v.id}: throughput ${times(s.vsPublic)} public (≥ 0.90×: ${speed}; by server CPU per request ${times(s.cpuVsPublic)}); ` +
          `${s.roundTrips.toFixed(2)} round trip(s) per request (one: ${oneTrip}), ` +
          `${s.commands.toFixed(2)} command(s) run per request counting those inside Lua (one: ${oneCmd})`,
      );
    }
    if (parts.length) lines.push(`- **${p}**: ${parts.join('; ')}.`);
  }

  lines.push('', '## Notes', '');
  lines.push(
    '- The same handler (a small fixed JSON object) answers every route; only what runs before it differs. Stacks: *ours* = RedisModule + MetricsModule + HttpModule + SessionModule + AuthModule (in-memory UserDirectory), the identity middleware on every route, `@Authenticated()` on `/private`; *seed* = the same base without Session/Auth modules, a guard doing `GET blacklist:<raw token>` on the state client and then `JwtService.verifyAsync` (@nestjs/jwt, HS256); *connect-redis* (Express only) = the same base with `express-session` (`resave: false, saveUninitialized: false`) on `connect-redis` 10 and a node-redis 6 client, a guard checking `req.session.userId`. No rate limiting anywhere. The "public route, app without Session/Auth modules" row is the seed stack’s unguarded route: what the identity middleware costs a public route.',
    '- Credentials are made once per server through each stack’s own login (ours: `AuthService.login` + `SessionService.start` + `AuthService.issueTokens`; seed: `JwtService.signAsync`; express-session: `req.session.regenerate` + `userId`), and every protected route is checked to answer 401 without them before any load.',
    `- Redis round trips / req: MONITOR on the private redis-server during ${MONITOR_REQUESTS} sequential requests per server (outside the timed run): commands the app's clients sent per request; commands a Lua script ran (MONITOR source \`lua\`) are listed after "inside scripts". Redis commands run / req: delta of \`INFO commandstats\` calls (INFO excluded) from just before a measured run to ${SETTLE_MS} ms after it, divided by the requests the server handled in that window (response finished or connection closed; /bench/* excluded), so commands inside scripts count too (ours, cookie: when a touch is due, the touch script's TIME, HMGET, HSET and PEXPIRE). Redis CPU: delta of \`used_cpu_user + used_cpu_sys\` (includes Redis's idle background work). Server CPU: delta of the app process's \`process.cpuUsage()\` over the same window (its own stats request included). JWT verify: after the timed run, the server times 1,000 sequential verifications of the variant's token with the stack's own verifier (ours: \`AccessTokens.verify\`; seed: \`JwtService.verifyAsync\`), median of rounds.`,
    '- Ours, cookie: a request reads the session with one HGETALL; the touch script (TIME, HMGET, HSET, PEXPIRE) runs at most once per `SESSION_TOUCH_MS` (60 s) per session, so it does not show per request; express-session with connect-redis touches the key with EXPIRE on every request of an unmodified session (its `disableTouch` option turns that off, at the cost of sessions ending on their first TTL whatever the activity).',
    '- Where the server time goes: `BENCH_CPU_PROF_DIR=/tmp/auth-prof BENCH_VARIANTS=public,bearer,cookie npm run bench:auth` writes a `--cpu-prof` profile per server (the log names each pid); `node dist-bench/bench/auth/profile.js <file>` summarizes one by package and function. README § Benchmarks has what it showed.',
    `- Settings: BENCH_DURATION_S=${DURATION_S} BENCH_WARMUP_S=${WARMUP_S} BENCH_ROUNDS=${ROUNDS} BENCH_CONNECTIONS=${CONNECTIONS} BENCH_MONITOR_REQUESTS=${MONITOR_REQUESTS} BENCH_PLATFORMS=${PLATFORMS.join(',')} BENCH_VARIANTS=${VARIANTS.map((v) => v.id).join(',')}${CPU_PROF_DIR ? ' BENCH_CPU_PROF_DIR set: servers ran under --cpu-prof, figures not comparable' : ''}.`,
  );
  if (meta.failures.length)
    lines.push('', '## Failures', '', ...meta.failures.map((f) => `- ${f}`));
  return lines.join('\n') + '\n';
}

// --- main ----------------------------------------------------------------------------------

function rotate<T>(arr: T[], n: number): T[] {
  const k = arr.length ? n % arr.length : 0;
  return [...arr.slice(k), ...arr.slice(0, k)];
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const t0 = performance.now();
  startWatchdog(MAX_RUN_S, () =>
    log(`watchdog: the run exceeded BENCH_MAX_RUN_S=${MAX_RUN_S} s; stopping everything`),
  );
  if (PLATFORMS.length === 0) throw new Error('BENCH_PLATFORMS names no platform');
  if (VARIANTS.length === 0) throw new Error('BENCH_VARIANTS names no variant');
  if (CPU_PROF_DIR) mkdirSync(resolve(CPU_PROF_DIR), { recursive: true });
  const copied = copyLuaAssets();
  const machine = machineLine('coord');
  log(machine);
  log(`copied ${copied} Lua files into dist-bench/src/**/lua`);

  const failures: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    log(`round ${round + 1}/${ROUNDS}`);
    for (const p of rotate(PLATFORMS, round)) {
      for (const v of rotate(
        VARIANTS.filter((x) => x.platforms.includes(p)),
        round,
      )) {
        const t = performance.now();
        try {
          const s = await measure(p, v, round);
          samples.set(keyOf(p, v.id), [...(samples.get(keyOf(p, v.id)) ?? []), s]);
          const sent = [...s.monitor.sent.values()].reduce((a, n) => a + n, 0);
          log(
            `  ${p} ${v.id}: ${fmt(s.reqPerSec)} req/s, p99 ${fmt(s.p99Ms, 1)} ms, ` +
              `${(sent / s.monitor.requests).toFixed(2)} round trips/req, ${(s.redis.commands / Math.max(1, s.requests)).toFixed(2)} cmds/req, ` +
              `non-2xx ${s.non2xx}, errors ${s.errors} (${((performance.now() - t) / 1000).toFixed(1)} s); ` +
              `sent: ${perRequest(s.monitor.sent, s.monitor.requests)}; run: ${perRequest(s.redis.byCommand, s.requests)}`,
          );
        } catch (err) {
          const msg = `round ${round + 1} ${p} ${v.id}: ${(err as Error).message.split('\n')[0]}`;
          failures.push(msg);
          log(`FAILED ${msg}\n${(err as Error).stack ?? ''}`);
        }
        await sleep(200);
      }
    }
  }

  const md = report({
    machine,
    startedAt,
    seconds: (performance.now() - t0) / 1000,
    failures,
  });
  const file = writeResults('auth-latest.md', md);
  process.stdout.write(`\n${md}`);
  log(`written to ${relative(process.cwd(), file) || file}`);
  if (failures.length) process.exitCode = 1;
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error(err);
    killEverything();
    process.exit(1);
  },
);
