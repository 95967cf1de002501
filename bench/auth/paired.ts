/**
 * `npm run bench:auth:paired`: issue 9's "authenticated ≥ 0.9× public", measured paired in one
 * server process (bench/lib/paired.ts).
 *
 * bench:auth runs every (platform, variant) in its own server process, and on this shared
 * machine the same route's rounds differ by more than the 10 % to resolve. Here one server per
 * platform, our stack (SessionModule + AuthModule, the identity middleware on every route),
 * serves blocks of load on its public route and on its `@Authenticated()` route with a Bearer
 * token and with a session cookie, round after round in a rotated order; each authenticated
 * block is compared with the public block of its round.
 *
 * Environment: BENCH_PLATFORMS [fastify,express], BENCH_ROUNDS [12], BENCH_BLOCK_S [3],
 * BENCH_WARMUP_S [3] per route, BENCH_CONNECTIONS [50], BENCH_RESULTS_FILE
 * [auth-paired-latest.md].
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
import { checkWiring, credentialHeaders, CredentialSpec, serverStats } from './client';

const SETTINGS = pairedSettings({ resultsFile: 'auth-paired-latest.md', warmupS: 3 });
const { rounds: ROUNDS, blockS: BLOCK_S, warmupS: WARMUP_S, connections: CONNECTIONS } = SETTINGS;

const ROUTES: CredentialSpec[] = [
  { id: 'public', path: '/public', credential: 'none' },
  { id: 'bearer', path: '/private', credential: 'bearer' },
  { id: 'cookie', path: '/private', credential: 'cookie', cookieName: 'sid' },
];
type RouteId = 'public' | 'bearer' | 'cookie';

const SERVER_JS = join(__dirname, 'server.js');

installCleanupHandlers();

type PlatformBlocks = Awaited<ReturnType<typeof pairedRounds<RouteId>>>;

async function measurePlatform(platform: string): Promise<PlatformBlocks> {
  const env = { HTTP_PLATFORM: platform, BENCH_STACK: 'ours' };
  return withServerOnPrivateRedis('nrp-auth-redis-', SERVER_JS, env, async ({ url }) => {
    const loads = new Map<RouteId, { url: string; headers: Record<string, string> }>();
    for (const r of ROUTES) {
      const headers = await credentialHeaders(url, r);
      await checkWiring(url, r, headers);
      loads.set(r.id as RouteId, { url: `${url}${r.path}`, headers });
    }
    const cpuMs = async () => (await serverStats(url)).cpuMs;
    const block = (id: RouteId, durationS: number) => {
      const l = loads.get(id);
      if (!l) throw new Error(`no route ${id}`);
      return measureBlock({ ...l, connections: CONNECTIONS, durationS }, cpuMs);
    };
    if (WARMUP_S > 0) for (const r of ROUTES) await block(r.id as RouteId, WARMUP_S);
    return await pairedRounds<RouteId>(
      ['public', 'bearer', 'cookie'],
      ROUNDS,
      async (id, round) => {
        const b = await block(id, BLOCK_S);
        logBlock(`${platform} round ${round + 1}/${ROUNDS} ${id.padEnd(6)}`, b);
        return b;
      },
    );
  });
}

function report(
  results: { platform: string; blocks: PlatformBlocks }[],
  startedAt: Date,
  machine: string,
): string {
  const rows = results.flatMap(({ platform, blocks }) =>
    (['bearer', 'cookie'] as const).map((id) => {
      const s = summarizePaired(blocks.get(id) ?? [], blocks.get('public') ?? []);
      const [r1, r2, r3] = s.reqPerSecRatio;
      // Capacity if the server alone were CPU-bound: public's CPU per request ÷ this route's.
      const [c1, c2, c3] = s.cpuRatio.map((r) => 1 / r).reverse();
      return (
        `| ${platform} | ${id} | **${times(r2)}** (${times(r1)} … ${times(r3)}) ` +
        `| ${times(c2)} (${times(c1)} … ${times(c3)}) ` +
        `| ${Math.round(s.referenceReqPerSec)} → ${Math.round(s.reqPerSec)} ` +
        `| ${s.referenceCpuUs.toFixed(1)} → ${s.cpuUs.toFixed(1)} (${percent(s.cpuRatio[1])}) |`
      );
    }),
  );
  return [
    '# Auth, paired in one process (`npm run bench:auth:paired`)',
    '',
    machine,
    '',
    `Run ${startedAt.toISOString()}; per platform one server (our stack: SessionModule + AuthModule), ` +
      `${ROUNDS} rounds of ${BLOCK_S} s blocks on the public route, the \`@Authenticated()\` route with a ` +
      `Bearer token and with a session cookie (order rotated each round), after ${WARMUP_S} s of warm-up ` +
      `on each; autocannon ${CONNECTIONS} connections, pipelining 1, one credential of user 1. Load ` +
      `average at the end: ${loadAverage()}.`,
    '',
    '| Platform | credential | × public, req/s: median of per-round ratios (quartiles) | × public, by server CPU per request (quartiles) | req/s, public → this (medians) | server CPU µs per request, public → this (medians) |',
    '|---|---|--:|--:|--:|--:|',
    ...rows,
    '',
    "A round's ratio compares neighbouring blocks of one server process. × public by server CPU:",
    "the public route's CPU per request divided by this route's (what throughput would be if the",
    "server alone were CPU-bound). Server CPU = the server process's `process.cpuUsage()` over a",
    "block (its two small stats requests included) divided by the block's requests.",
    '',
  ].join('\n');
}

runPaired(SETTINGS.resultsFile, async (machine, startedAt) => {
  const results: { platform: string; blocks: PlatformBlocks }[] = [];
  for (const platform of SETTINGS.platforms)
    results.push({ platform, blocks: await measurePlatform(platform) });
  return report(results, startedAt, machine);
});
