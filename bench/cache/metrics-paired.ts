/**
 * `npm run bench:metrics`: the overhead of Redis command metrics on a cached GET (issue 12's
 * "≤ 3 %"), measured paired in one server process.
 *
 * bench:cache's `ours` vs `ours-nocmd` compares two server processes, and on this shared machine
 * rounds of one variant differ by more than the 3 % to resolve. Here one server per platform
 * (our `@Cached` route, L1 off, auto-pipelining on: one Redis GET per request) serves blocks of
 * load, and between blocks Redis command metrics are switched on or off inside that process
 * (`POST /bench/command-metrics/on|off`: the same state as starting with
 * REDIS_COMMAND_METRICS=true or false). Blocks alternate on/off and off/on, so JIT state, heap,
 * Redis and the machine's load are shared by both; each pair gives a ratio, and the median
 * and quartiles of those ratios are reported.
 *
 * Per block: req/s (autocannon), and the server process's CPU time (user + system) per request,
 * the better figure on a loaded machine (it does not count time the server waits for a core).
 *
 * BENCH_STATES adds `noop` (diagnostic): metrics off, handlers that do nothing subscribed to
 * ioredis's tracing channel — the share of ioredis's and Node's tracing work (trace context,
 * traced promise) in the overhead, as opposed to the metrics' own handlers. Each round then runs
 * every state once in a rotated order, and each state is compared with `off` of its round.
 *
 * The report adds what one traced command costs without Redis or HTTP (bench/cache/trace-cost.ts).
 *
 * Environment: BENCH_PLATFORMS [fastify,express], BENCH_STATES [off,on], BENCH_PAIRS [12]
 * (rounds), BENCH_BLOCK_S [3], BENCH_WARMUP_S [3], BENCH_CONNECTIONS [50], BENCH_RESULTS_FILE
 * [cache-command-metrics-paired.md].
 */
import { join } from 'node:path';
import {
  Block,
  loadAverage,
  logBlock,
  measureBlock,
  pairedRounds,
  pairedSettings,
  percent,
  runPaired,
  summarizePaired,
} from '../lib/paired';
import { installCleanupHandlers, withServerOnPrivateRedis } from '../lib/runner';
import { getJson, throughput, warmKey } from './load';
import { measureTraceCost, TraceCost } from './trace-cost';

const SETTINGS = pairedSettings({
  resultsFile: 'cache-command-metrics-paired.md',
  warmupS: 3,
  roundsVar: 'BENCH_PAIRS',
});
const { rounds: ROUNDS, blockS: BLOCK_S, warmupS: WARMUP_S, connections: CONNECTIONS } = SETTINGS;
type State = 'off' | 'on' | 'noop';
const STATES = [
  ...new Set(
    (process.env.BENCH_STATES ?? 'off,on')
      .split(',')
      .map((x) => x.trim())
      .filter((x): x is State => x === 'off' || x === 'on' || x === 'noop'),
  ),
];
if (!STATES.includes('off') || STATES.length < 2)
  throw new Error('BENCH_STATES must name off and at least one of on, noop');

const SERVER_JS = join(__dirname, 'server.js');

installCleanupHandlers();

async function measurePlatform(platform: string): Promise<Map<State, Block[]>> {
  const env = {
    HTTP_PLATFORM: platform,
    CACHE_L1_MAX_ENTRIES: '0',
    CACHE_AUTO_PIPELINING: 'true',
    REDIS_COMMAND_METRICS: 'true',
  };
  return withServerOnPrivateRedis('nrp-bench-redis-', SERVER_JS, env, async ({ url }) => {
    const load = { url: `${url}/ours/1`, connections: CONNECTIONS, durationS: BLOCK_S };
    const setState = (state: State) => getJson(`${url}/bench/command-metrics/${state}`, 'POST');
    const cpuMs = async () => (await getJson<{ cpuMs: number }>(`${url}/bench/loads`)).cpuMs;
    await warmKey(load.url, true);
    for (const state of STATES) {
      await setState(state);
      if (WARMUP_S > 0) await throughput(load.url, CONNECTIONS, WARMUP_S);
    }
    return await pairedRounds(STATES, ROUNDS, async (state, round) => {
      await setState(state);
      const block = await measureBlock(load, cpuMs);
      logBlock(`${platform} round ${round + 1}/${ROUNDS} metrics ${state.padEnd(4)}`, block);
      return block;
    });
  });
}

function report(
  results: { platform: string; blocks: Map<State, Block[]> }[],
  trace: TraceCost,
  startedAt: Date,
  machine: string,
): string {
  const rows = results.flatMap(({ platform, blocks }) =>
    STATES.filter((st) => st !== 'off').map((st) => {
      const s = summarizePaired(blocks.get(st) ?? [], blocks.get('off') ?? []);
      const [c1, c2, c3] = s.cpuRatio;
      const [r1, r2, r3] = s.reqPerSecRatio;
      return (
        `| ${platform} | ${st} | ${percent(c2)} (${percent(c1)} … ${percent(c3)}) ` +
        `| ${s.referenceCpuUs.toFixed(1)} → ${s.cpuUs.toFixed(1)} ` +
        `| ${percent(r2)} (${percent(r1)} … ${percent(r3)}) ` +
        `| ${Math.round(s.referenceReqPerSec)} → ${Math.round(s.reqPerSec)} |`
      );
    }),
  );
  return [
    '# Redis command metrics overhead, paired in one process (`npm run bench:metrics`)',
    '',
    machine,
    '',
    `Run ${startedAt.toISOString()}; per platform one server, ${ROUNDS} rounds of ${BLOCK_S} s blocks ` +
      `(states ${STATES.join(', ')}, order rotated each round) after ${WARMUP_S} s of warm-up in each ` +
      `state; autocannon ${CONNECTIONS} connections, pipelining 1; GET of our \`@Cached\` route, L1 off, ` +
      `auto-pipelining on (one Redis GET per request). Load average at the end: ${loadAverage()}.`,
    '',
    '| Platform | state | server CPU per request vs off: median of per-round ratios (quartiles) | µs per request, off → state (medians) | req/s vs off: median of per-round ratios (quartiles) | req/s, off → state (medians) |',
    '|---|---|--:|--:|--:|--:|',
    ...rows,
    '',
    'The state is switched inside one server process between blocks (`POST /bench/command-metrics/on|off|noop`:',
    "RedisCommandMetrics' own subscribe and shutdown paths; noop = metrics off, do-nothing handlers on",
    "ioredis's tracing channel); a round's ratio compares neighbouring blocks of that round. Server",
    "CPU = the server process's `process.cpuUsage()` over a block (its two small stats requests",
    "included) divided by the block's requests.",
    '',
    "**One traced command, without Redis or HTTP** (bench/cache/trace-cost.ts: ioredis's",
    '`traceCommand` for a GET of a scoped client, the three states alternating in the runner',
    `process; medians of 5 rounds of 200,000): untraced ${trace.untraced.toFixed(0)} ns, ` +
      `do-nothing handlers subscribed ${trace.noopTracer.toFixed(0)} ns, RedisCommandMetrics ` +
      `${trace.metrics.toFixed(0)} ns per command: the metrics add ` +
      `${((trace.metrics - trace.untraced) / 1000).toFixed(2)} µs of CPU per command, of which ` +
      `${((trace.noopTracer - trace.untraced) / 1000).toFixed(2)} µs is ioredis's and Node's tracing work.`,
    '',
  ].join('\n');
}

runPaired(SETTINGS.resultsFile, async (machine, startedAt) => {
  const results: { platform: string; blocks: Map<State, Block[]> }[] = [];
  for (const platform of SETTINGS.platforms)
    results.push({ platform, blocks: await measurePlatform(platform) });
  const trace = await measureTraceCost();
  return report(results, trace, startedAt, machine);
});
