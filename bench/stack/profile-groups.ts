/**
 * Where the built app's CPU goes on a whole request: the self time of a V8 CPU profile of
 * `dist/main.js` under load, grouped by feature (each sample counted once, in the first group
 * whose pattern matches its frame), as a share of the non-idle time.
 *
 *   npm run build && npx tsc -p bench/tsconfig.json
 *   DATA_DIR=$(mktemp -d) PORT=3900 APP_ROLE=all RATE_LIMIT=100000000/60s LOG_LEVEL=info \
 *     node --cpu-prof --cpu-prof-dir=/tmp/stack-prof dist/main.js > /tmp/stack-app.log &
 *   # when /health/ready answers: warm up, then load GET /api/users/1 (e.g. autocannon -c 50)
 *   kill -TERM %1
 *   node dist-bench/bench/stack/profile-groups.js /tmp/stack-prof/CPU.*.0.001.cpuprofile <skip-s>
 *
 * The main thread's profile is the `.0.001` file (the `.1.002` one is PGlite's worker thread).
 * `skip-s`: leave out the first seconds (start-up and warm-up). bench/results/stack-profile.md
 * has a run.
 */
import { frameText, readSelfTimes } from '../lib/cpu-profile';

/** Feature → a pattern on `functionName url` of the sampled frame; the first match wins. */
export const GROUPS: [string, RegExp][] = [
  [
    'request logging (pino, pino-http, nestjs-pino, sonic-boom, our redaction)',
    /pino|sonic-boom|log-redaction/,
  ],
  [
    'promise hooks (an AsyncLocalStorage store is active: Node 20)',
    /node:internal\/async_hooks|node:async_hooks|^promise\w*Hook/,
  ],
  ['rate limiter (guard, storage)', /rate-limit|redis-throttler|@nestjs\/throttler/],
  [
    'middleware plumbing (@fastify/middie, Nest middleware module)',
    /@fastify\/middie|middleware-module/,
  ],
  ['session and identity middlewares', /dist\/session\/|dist\/auth\/|http-context/],
  ['ioredis (client, parser)', /ioredis\/built\/(?!tracing)/],
  ['our Redis client wrapper (batching, stall breaker, scopes)', /dist\/redis\//],
  ['cache', /dist\/cache\//],
  ['HTTP metrics (histogram, prom-client)', /http-metrics|prom-client/],
  [
    'Redis command metrics (tracing path)',
    /diagnostics_channel|ioredis\/built\/tracing|redis-command-metrics/,
  ],
  ['Nest core, platform-fastify, rxjs', /@nestjs\/core|@nestjs\/platform-fastify|rxjs|iterare/],
  ['fastify, find-my-way', /\/fastify\/|find-my-way|avvio/],
  [
    'socket writes (writev, writeString)',
    /^(writev|writeString|writeUtf8String|writevGeneric|writeGeneric) /,
  ],
  ['garbage collector', /^\(garbage collector\)/],
];
const IDLE = /^\(idle\)/;

function main(): void {
  const [file, skipArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: profile-groups.js <file.cpuprofile> [skip-s]');
  const skipS = Number(skipArg ?? 0);
  const { byId, selfUs } = readSelfTimes(file, skipS);
  const byGroup = new Map<string, number>();
  let idle = 0;
  let other = 0;
  for (const [id, us] of selfUs) {
    const frame = frameText(byId.get(id));
    if (IDLE.test(frame)) {
      idle += us;
      continue;
    }
    const group = GROUPS.find(([, re]) => re.test(frame))?.[0];
    if (group) byGroup.set(group, (byGroup.get(group) ?? 0) + us);
    else other += us;
  }
  const busy = [...byGroup.values()].reduce((a, b) => a + b, other);
  const pct = (us: number) => `${((100 * us) / busy).toFixed(1)} %`;
  console.log(
    `${file}: ${((busy + idle) / 1e6).toFixed(1)} s after the first ${skipS} s, ` +
      `${((100 * busy) / (busy + idle)).toFixed(1)} % not idle\n`,
  );
  console.log('| feature (self time of its frames) | share of the non-idle time |\n|---|--:|');
  for (const [group] of GROUPS) console.log(`| ${group} | ${pct(byGroup.get(group) ?? 0)} |`);
  console.log(
    `| everything else (Node's HTTP, streams, timers, events; V8 natives) | ${pct(other)} |`,
  );
}

main();
