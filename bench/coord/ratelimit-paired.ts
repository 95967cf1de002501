/**
 * `npm run bench:ratelimit:paired`: where a rate-limited request's cost goes (issue 13), measured
 * paired in one server process (bench/lib/paired.ts). bench:coord compares the limited route with
 * a no-limiter server in another process; that ratio (0.58× in its last run) mixes Nest's guard
 * pipeline, the limiter's own work and the machine's run-to-run spread. Here:
 *
 * - the no-limiter server: `/hello` (no guard) against `/noop-guard` (a route guard whose async
 *   `canActivate` only returns true): what the guard pipeline costs by itself;
 * - our limiter's server, exact and approximate mode: `/skip` (`@SkipThrottle()`: the global
 *   guard runs and skips) against `/hello` (limited, limit never reached): the limiter's own
 *   work on top of the pipeline.
 *
 * Environment: BENCH_ROUNDS [12], BENCH_BLOCK_S [3], BENCH_WARMUP_S [2] per route,
 * BENCH_CONNECTIONS [50], BENCH_LIMITERS [none,ours,approx], BENCH_RESULTS_FILE
 * [coord-ratelimit-paired.md].
 */
import { join } from 'node:path';
import {
  logBlock,
  loadAverage,
  measureBlock,
  pairedRounds,
  pairedSettings,
  percent,
  runPaired,
  summarizePaired,
  times,
} from '../lib/paired';
import { installCleanupHandlers, withServerOnPrivateRedis } from '../lib/runner';

const SETTINGS = pairedSettings({ resultsFile: 'coord-ratelimit-paired.md', warmupS: 2 });
const { rounds: ROUNDS, blockS: BLOCK_S, warmupS: WARMUP_S, connections: CONNECTIONS } = SETTINGS;

interface Setup {
  limiter: 'none' | 'ours' | 'approx';
  label: string;
  reference: string;
  compared: string;
  question: string;
}

const SETUPS: Setup[] = [
  {
    limiter: 'none',
    label: 'no limiter',
    reference: '/hello',
    compared: '/noop-guard',
    question: 'a do-nothing async route guard vs no guard (the guard pipeline)',
  },
  {
    limiter: 'ours',
    label: 'ours, exact',
    reference: '/skip',
    compared: '/hello',
    question: 'limited vs `@SkipThrottle()` (the limiter’s own work, 1 EVALSHA per request)',
  },
  {
    limiter: 'approx',
    label: 'ours, approximate',
    reference: '/skip',
    compared: '/hello',
    question: 'limited vs `@SkipThrottle()` (the limiter’s own work, local leases)',
  },
];
const WANTED = (process.env.BENCH_LIMITERS ?? 'none,ours,approx').split(',').map((s) => s.trim());

const SERVER_JS = join(__dirname, 'server.js');

installCleanupHandlers();

async function measure(setup: Setup): Promise<string> {
  const env = {
    BENCH_LIMITER: setup.limiter,
    BENCH_RL_LIMIT: '10000000',
    BENCH_RL_WINDOW_MS: '5000',
  };
  return withServerOnPrivateRedis('nrp-coord-redis-', SERVER_JS, env, async ({ url }) => {
    const cpuMs = async (): Promise<number> => {
      const res = await fetch(`${url}/bench/stats`, { signal: AbortSignal.timeout(10_000) });
      return ((await res.json()) as { cpuMs: number }).cpuMs;
    };
    const block = (path: string, durationS: number) =>
      measureBlock({ url: `${url}${path}`, connections: CONNECTIONS, durationS }, cpuMs);
    const paths = [setup.reference, setup.compared];
    if (WARMUP_S > 0) for (const p of paths) await block(p, WARMUP_S);
    const blocks = await pairedRounds(paths, ROUNDS, async (path, round) => {
      const b = await block(path, BLOCK_S);
      logBlock(`${setup.label} round ${round + 1}/${ROUNDS} ${path.padEnd(11)}`, b);
      return b;
    });
    const s = summarizePaired(blocks.get(setup.compared) ?? [], blocks.get(setup.reference) ?? []);
    const [r1, r2, r3] = s.reqPerSecRatio;
    const [c1, c2, c3] = s.cpuRatio;
    return (
      `| ${setup.label} | ${setup.question} | ${times(r2)} (${times(r1)} … ${times(r3)}) ` +
      `| ${percent(c2)} (${percent(c1)} … ${percent(c3)}) ` +
      `| ${s.referenceCpuUs.toFixed(1)} → ${s.cpuUs.toFixed(1)} ` +
      `| ${Math.round(s.referenceReqPerSec)} → ${Math.round(s.reqPerSec)} |`
    );
  });
}

runPaired(SETTINGS.resultsFile, async (machine, startedAt) => {
  const rows: string[] = [];
  for (const setup of SETUPS.filter((s) => WANTED.includes(s.limiter)))
    rows.push(await measure(setup));
  return [
    '# Rate limiting, paired in one process (`npm run bench:ratelimit:paired`)',
    '',
    machine,
    '',
    `Run ${startedAt.toISOString()}; Fastify; per server ${ROUNDS} rounds of ${BLOCK_S} s blocks on two ` +
      `routes of the same handler (order alternating), after ${WARMUP_S} s of warm-up on each; ` +
      `autocannon ${CONNECTIONS} connections, pipelining 1; limit 10,000,000 per 5 s (never reached). ` +
      `Load average at the end: ${loadAverage()}.`,
    '',
    '| server | comparison | req/s ratio: median of per-round ratios (quartiles) | server CPU per request: median of per-round ratios (quartiles) | µs per request (medians) | req/s (medians) |',
    '|---|---|--:|--:|--:|--:|',
    ...rows,
    '',
  ].join('\n');
});
