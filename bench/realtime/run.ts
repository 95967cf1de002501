/**
 * Realtime benchmark (issue 11): fan-out across two socket.io instances, and the activity
 * feed's XADD + fan-out.
 *
 * Fan-out: per run, a fresh private redis-server, two server children (bench/realtime/server.ts:
 * instance A, which sends, and instance B) and two client children (bench/realtime/clients.ts)
 * holding BENCH_RT_CLIENTS clients in all, one user each, half connected to A and half to B
 * (alternating). The runner asks A for batches: one message to every user (BENCH_RT_CLIENTS
 * messages); at most BENCH_RT_WINDOW batches are outstanding (a batch is done once every client
 * has it), so the load is a closed loop at the design's own pace. Throughput = messages of the
 * measured batches / (first measured batch asked → last done); latency = A's send call → the
 * client's `n` handler (one clock, both ends on this machine). Variants (server.ts says exactly
 * what each is): `ours` (the app, event stream + streams adapter), `plain-stream` (the same
 * event-stream design on a plain socket.io server), `redis-adapter` (plain socket.io server,
 * `@socket.io/redis-adapter` 8.3.0, `io.to(room).emit`).
 *
 * Feed: per run, a fresh redis-server and one child (bench/realtime/feed.ts, the worker role):
 * BENCH_FEED_ACTIVITIES activities recorded, fanned out to N followers through the consumer group.
 *
 * Rounds interleave the variants (rotated order each round); figures are medians across rounds,
 * ratios medians of per-round ratios. Prints a markdown table and writes it to
 * bench/results/realtime-latest.md.
 *
 *   npm run bench:realtime                                   # ≈ 4–5 minutes
 *   BENCH_ROUNDS=1 BENCH_RT_BATCHES=5 npm run bench:realtime # smoke run
 *
 * Settings (environment, defaults in brackets): BENCH_ROUNDS [3], BENCH_RT_VARIANTS
 * [ours,plain-stream,redis-adapter], BENCH_RT_CLIENTS [1000], BENCH_RT_BATCHES [20] measured,
 * BENCH_RT_WARMUP [3] batches, BENCH_RT_WINDOW [2], BENCH_FEED_FOLLOWERS [10,100],
 * BENCH_FEED_ACTIVITIES [1000], BENCH_RUN_TIMEOUT_S [120], BENCH_MAX_RUN_S [900],
 * BENCH_RESULTS_FILE [realtime-latest.md].
 */
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { redisDelta, redisSnapshot } from '../lib/redis-cost';
import {
  copyLuaAssets,
  DIST_SRC,
  installCleanupHandlers,
  killEverything,
  machineLine,
  startChild,
  startPrivateRedis,
  startWatchdog,
  stopChild,
  ROOT,
  writeResults,
} from '../lib/runner';
import { median, num, percentileInPlace } from '../lib/util';
import type { FeedResult } from './feed';
import type { RtVariant } from './server';

const ROUNDS = Math.round(num('BENCH_ROUNDS', 3, 1));
const VARIANTS = (process.env.BENCH_RT_VARIANTS ?? 'ours,plain-stream,redis-adapter')
  .split(',')
  .map((s) => s.trim())
  .filter((s): s is RtVariant => ['ours', 'plain-stream', 'redis-adapter'].includes(s));
const CLIENTS = Math.round(num('BENCH_RT_CLIENTS', 1000, 2));
const BATCHES = Math.round(num('BENCH_RT_BATCHES', 20, 1));
const WARMUP = Math.round(num('BENCH_RT_WARMUP', 3, 0));
const WINDOW = Math.round(num('BENCH_RT_WINDOW', 2, 1));
const FOLLOWERS = (process.env.BENCH_FEED_FOLLOWERS ?? '10,100')
  .split(',')
  .map((s) => Math.round(Number(s.trim())))
  .filter((n) => n >= 1);
const ACTIVITIES = Math.round(num('BENCH_FEED_ACTIVITIES', 1000, 1));
const RUN_TIMEOUT_S = num('BENCH_RUN_TIMEOUT_S', 120, 5);
const MAX_RUN_S = num('BENCH_MAX_RUN_S', 900, 10);

const LABEL: Record<RtVariant, string> = {
  ours: 'ours: the app (event stream read by every instance + streams adapter)',
  'plain-stream': 'event-stream design on a plain socket.io server',
  'redis-adapter': '@socket.io/redis-adapter 8.3.0 on a plain socket.io server',
};

installCleanupHandlers();
const log = (msg: string): void => {
  process.stderr.write(`[bench:realtime ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};

/** The next IPC message of `type` from `child` (rejects on exit or after the run timeout). */
function nextMessage<T>(child: ChildProcess, type: string, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what}: no '${type}' in ${RUN_TIMEOUT_S} s`));
    }, RUN_TIMEOUT_S * 1000);
    const onMessage = (m: { type?: string }) => {
      if (m?.type !== type) return;
      cleanup();
      resolve(m as T);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`${what}: child exited (${code}) before '${type}'`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

interface RtResult {
  messages: number;
  elapsedMs: number;
  all: number[];
  b: number[];
  duplicates: number;
  lost: number;
  disconnects: number;
  commandsPerMessage: number;
  redisCpuUsPerMessage: number;
  serverCpuUsPerMessage: number;
}

interface ClientsReport {
  latencies: { A: number[]; B: number[] };
  received: number;
  duplicates: number;
  disconnects: number;
}

async function fanout(variant: RtVariant): Promise<RtResult> {
  const redis = await startPrivateRedis('nrp-rt-redis-');
  const children: ChildProcess[] = [];
  const track = (c: ChildProcess) => (children.push(c), c);
  try {
    const serverJs = join(__dirname, 'server.js');
    const env = { REDIS_URL: redis.url, BENCH_RT_VARIANT: variant };
    const [a, b] = await Promise.all([startChild(serverJs, env), startChild(serverJs, env)]);
    track(a.child);
    track(b.child);
    let tokens: string[] | undefined;
    if (variant === 'ours') {
      const got = nextMessage<{ tokens: string[] }>(a.child, 'tokens', 'tokens');
      a.child.send({ type: 'tokens', n: CLIENTS });
      tokens = (await got).tokens;
    }
    const specs = Array.from({ length: CLIENTS }, (_, i) => ({
      url: i % 2 === 0 ? a.url : b.url,
      instance: i % 2 === 0 ? 'A' : 'B',
      user: i + 1,
      token: tokens?.[i],
    }));
    const half = Math.ceil(CLIENTS / 2);
    const parts = [specs.slice(0, half), specs.slice(half)];
    const clientJs = join(__dirname, 'clients.js');
    const clients = await Promise.all(parts.map(() => startChild(clientJs, {})));
    for (const c of clients) track(c.child);
    await Promise.all(
      clients.map((c, i) => {
        const connected = nextMessage(c.child, 'connected', 'clients');
        c.child.send({ type: 'connect', clients: parts[i], warmup: WARMUP });
        return connected;
      }),
    );

    // Batches: done once both client processes report it; at most WINDOW outstanding.
    const total = WARMUP + BATCHES;
    const doneBy = new Map<number, number>();
    let resolveAll!: () => void;
    const allDone = new Promise<void>((r) => (resolveAll = r));
    let asked = 0;
    let finished = 0;
    let measuredStart = 0;
    let before: Awaited<ReturnType<typeof redisSnapshot>> | undefined;
    let cpuBefore = 0;
    const cpuOf = async (c: ChildProcess) => {
      const m = nextMessage<{ ms: number }>(c, 'cpu', 'cpu');
      c.send({ type: 'cpu' });
      return (await m).ms;
    };
    const ask = async () => {
      const batch = asked++;
      if (batch === WARMUP) {
        before = await redisSnapshot(redis.admin);
        cpuBefore = (await cpuOf(a.child)) + (await cpuOf(b.child));
        measuredStart = performance.now();
      }
      a.child.send({ type: 'batch', batch, users: CLIENTS });
    };
    for (const c of clients)
      c.child.on('message', (m: { type?: string; batch?: number }) => {
        if (m?.type !== 'done') return;
        const n = (doneBy.get(m.batch!) ?? 0) + 1;
        doneBy.set(m.batch!, n);
        if (n < clients.length) return;
        finished++;
        if (finished === total) resolveAll();
        else if (asked < total) void ask();
      });
    // The first WINDOW batches; each one done asks for the next.
    for (let i = 0; i < Math.min(WINDOW, total); i++) await ask();
    await Promise.race([
      allDone,
      new Promise((_, reject) =>
        setTimeout(
          () => reject(new Error(`${variant}: batches not done in ${RUN_TIMEOUT_S} s`)),
          RUN_TIMEOUT_S * 1000,
        ).unref(),
      ),
    ]);
    const elapsedMs = performance.now() - measuredStart;
    const cpuAfter = (await cpuOf(a.child)) + (await cpuOf(b.child));
    const delta = redisDelta(before!, await redisSnapshot(redis.admin));
    // Let stray duplicates arrive before the report.
    await new Promise((r) => setTimeout(r, 200));
    const reports = await Promise.all(
      clients.map((c) => {
        const r = nextMessage<ClientsReport>(c.child, 'report', 'report');
        c.child.send({ type: 'report' });
        return r;
      }),
    );
    const messages = BATCHES * CLIENTS;
    const a1 = reports.flatMap((r) => r.latencies.A);
    const b1 = reports.flatMap((r) => r.latencies.B);
    const received = reports.reduce((s, r) => s + r.received, 0);
    const duplicates = reports.reduce((s, r) => s + r.duplicates, 0);
    return {
      messages,
      elapsedMs,
      all: [...a1, ...b1],
      b: b1,
      duplicates,
      lost: total * CLIENTS - (received - duplicates),
      disconnects: reports.reduce((s, r) => s + r.disconnects, 0),
      commandsPerMessage: delta.commands / messages,
      redisCpuUsPerMessage: (delta.cpuMs * 1000) / messages,
      serverCpuUsPerMessage: ((cpuAfter - cpuBefore) * 1000) / messages,
    };
  } finally {
    await Promise.all(children.map((c) => stopChild(c)));
    await redis.stop();
  }
}

async function feedRun(followers: number): Promise<FeedResult> {
  const redis = await startPrivateRedis('nrp-feed-redis-');
  let child: ChildProcess | undefined;
  try {
    const started = await startChild(join(__dirname, 'feed.js'), {
      REDIS_URL: redis.url,
      BENCH_FEED_FOLLOWERS: String(followers),
      BENCH_FEED_ACTIVITIES: String(ACTIVITIES),
    });
    child = started.child;
    const result = nextMessage<FeedResult>(child, 'result', `feed N=${followers}`);
    child.send({ type: 'go' });
    return await result;
  } finally {
    if (child) await stopChild(child);
    await redis.stop();
  }
}

const fmt = (x: number, digits = 0): string =>
  !Number.isFinite(x)
    ? 'n/a'
    : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const rate = (r: RtResult): number => (r.messages * 1000) / r.elapsedMs;
const p = (v: number[], q: number): number => percentileInPlace(v, q);

async function main(): Promise<void> {
  const started = Date.now();
  startWatchdog(MAX_RUN_S, () => log(`watchdog: the run took over ${MAX_RUN_S} s, giving up`));
  log(`copied ${copyLuaAssets()} Lua files into dist-bench`);
  // The whole app starts here (nest-cli copies the SQL migrations into dist/ only).
  const migrations = join(ROOT, 'src', 'database', 'migrations');
  mkdirSync(join(DIST_SRC, 'database', 'migrations'), { recursive: true });
  for (const f of readdirSync(migrations).filter((n) => n.endsWith('.sql')))
    copyFileSync(join(migrations, f), join(DIST_SRC, 'database', 'migrations', f));
  const machine = machineLine('coord');
  const rt = new Map<RtVariant, RtResult[]>();
  const feeds = new Map<number, FeedResult[]>();
  for (let round = 0; round < ROUNDS; round++) {
    const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]);
    for (const v of order) {
      const r = await fanout(v);
      const p50 = p([...r.all], 50);
      log(
        `round ${round + 1}/${ROUNDS} ${v}: ${fmt(rate(r))} msg/s, p50 ${fmt(p50, 1)} ms, p99 ${fmt(p([...r.all], 99), 1)} ms, lost ${r.lost}, duplicates ${r.duplicates}`,
      );
      rt.set(v, [...(rt.get(v) ?? []), r]);
    }
    for (const n of FOLLOWERS) {
      const f = await feedRun(n);
      log(
        `round ${round + 1}/${ROUNDS} feed N=${n}: ${fmt((f.activities * 1000) / f.totalMs)} activities/s fanned out, ${fmt((f.feedEntries * 1000) / f.totalMs)} feed entries/s`,
      );
      feeds.set(n, [...(feeds.get(n) ?? []), f]);
    }
  }

  const base = rt.get('redis-adapter') ?? [];
  const rows: string[] = [];
  const summary: string[] = [];
  for (const v of VARIANTS) {
    const rs = rt.get(v) ?? [];
    const rates = rs.map(rate);
    const p50s = rs.map((r) => p(r.all, 50));
    const p99s = rs.map((r) => p(r.all, 99));
    const bp50 = rs.map((r) => p(r.b, 50));
    const bp99 = rs.map((r) => p(r.b, 99));
    const ratios = rs.map((r, i) => (base[i] ? rate(r) / rate(base[i]) : NaN));
    const p99Ratios = rs.map((r, i) => (base[i] ? p(r.all, 99) / p(base[i].all, 99) : NaN));
    rows.push(
      `| ${LABEL[v]} | ${fmt(median(rates))} msg/s (${fmt(Math.min(...rates))}–${fmt(Math.max(...rates))}) | ${fmt(median(p50s), 1)} ms | ${fmt(median(p99s), 1)} ms | ${fmt(median(bp50), 1)} / ${fmt(median(bp99), 1)} ms | ${v === 'redis-adapter' ? '1.00×' : `${median(ratios).toFixed(2)}×`} | ${fmt(median(rs.map((r) => r.commandsPerMessage)), 2)} | ${fmt(median(rs.map((r) => r.redisCpuUsPerMessage)), 1)} µs | ${fmt(median(rs.map((r) => r.serverCpuUsPerMessage)), 1)} µs | ${rs.reduce((s, r) => s + r.lost, 0)} / ${rs.reduce((s, r) => s + r.duplicates, 0)} | ${rs.length} × ${fmt(rs[0]?.messages ?? 0)} |`,
    );
    if (v !== 'redis-adapter' && base.length)
      summary.push(
        `${v} / redis-adapter = ${median(ratios).toFixed(2)}× msg/s (rounds: ${ratios.map((x) => x.toFixed(2)).join(', ')}), p99 ${median(p99Ratios).toFixed(2)}× (rounds: ${p99Ratios.map((x) => x.toFixed(2)).join(', ')})`,
      );
  }
  const ours = rt.get('ours') ?? [];
  const plain = rt.get('plain-stream') ?? [];
  if (ours.length && plain.length) {
    const r = ours.map((o, i) => (plain[i] ? rate(o) / rate(plain[i]) : NaN));
    summary.push(
      `ours / plain-stream = ${median(r).toFixed(2)}× msg/s (rounds: ${r.map((x) => x.toFixed(2)).join(', ')}): what the app (Nest, auth, metrics, streams adapter, dedupe) adds to the same design`,
    );
  }
  const feedRows = FOLLOWERS.map((n) => {
    const fs = feeds.get(n) ?? [];
    const acts = fs.map((f) => (f.activities * 1000) / f.totalMs);
    const rec = fs.map((f) => (f.activities * 1000) / f.recordMs);
    const entries = fs.map((f) => (f.feedEntries * 1000) / f.totalMs);
    return `| ${n} | ${fmt(median(rec))} /s | ${fmt(median(acts))} /s (${fmt(Math.min(...acts))}–${fmt(Math.max(...acts))}) | ${fmt(median(entries))} /s | ${fmt(median(fs.map((f) => f.feedEntries / f.activities)), 2)} | ${fmt(median(fs.map((f) => f.commands / f.activities)), 1)} | ${fmt(median(fs.map((f) => (f.redisCpuMs * 1000) / f.activities)), 0)} µs | ${fmt(median(fs.map((f) => (f.nodeCpuMs * 1000) / f.activities)), 0)} µs | ${fs.length} × ${fs[0]?.activities ?? 0} |`;
  });

  const md = [
    '# Realtime benchmark (`npm run bench:realtime`)',
    '',
    machine,
    '',
    `Run: ${new Date(started).toISOString()}, ${ROUNDS} round(s), variants interleaved (rotated order each round); each run a fresh private redis-server and fresh child processes; whole run ${Math.round((Date.now() - started) / 1000)} s.`,
    '',
    '## Fan-out across two instances',
    '',
    `${fmt(CLIENTS)} socket.io clients (socket.io-client 4.8, websocket transport), one user each, alternately connected to instance A and instance B (two client processes of ${fmt(Math.ceil(CLIENTS / 2))}); each instance its own process. A batch = instance A sends one message (\`n\`, ~130 bytes of JSON) to every user's room \`user:<id>\`; at most ${WINDOW} batches outstanding (a batch is done when every client has it: closed loop), ${WARMUP} warm-up batches, then ${BATCHES} measured (${fmt(BATCHES * CLIENTS)} messages). Throughput = measured messages / (first measured batch asked → last done). Latency = A's send call → the client's handler (\`performance.timeOrigin + now()\` on both sides, one machine); the "B" column is the clients on the other instance only. Redis commands and CPU from INFO (commandstats, cpu) over the measured batches; server CPU = both instances' process CPU.`,
    '',
    '- **ours**: two real app processes (`createApp(config, "api")`, Fastify): JWT handshake, `RealtimeService.toUser(user, "n", payload)` on A = one `XADD` to `<prefix>:rt:{events}` (auto-pipelined state client); each instance reads the stream (`XREAD COUNT 500 BLOCK 5000`) and emits to its local room; the streams adapter joins the instances (not on this path).',
    '- **plain-stream**: the same event-stream design on a plain `http` + socket.io server (no Nest, no auth, no dedupe, no metrics): `XADD MAXLEN ~ 10000` per message, an `XREAD` loop per instance.',
    '- **redis-adapter**: a plain `http` + socket.io server with `@socket.io/redis-adapter` 8.3.0 (ioredis pub/sub), `io.to("user:<id>").emit(…)` on A: A\'s own clients get it at once (no Redis), one `PUBLISH` per message carries it to B. No auth. At-most-once: what is published while B\'s subscriber reconnects is lost.',
    '',
    '| Variant | Messages/s delivered (median, min–max) | p50 | p99 | B only: p50 / p99 | msg/s vs redis-adapter | Redis commands per message | Redis CPU per message | Server CPU per message (A + B) | Lost / duplicates (all rounds) | Runs |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    'Ratios (medians of per-round ratios):',
    '',
    ...summary.map((s) => `- ${s}`),
    '',
    '## Activity feed: XADD + fan-out',
    '',
    `One process of the worker role (\`AppModule.forRoot(config, "worker")\` as an application context: FeedService, the fan-out consumer group, RealtimeService pushing \`feed\` events) against a fresh redis-server. User 1 has N followers; ${fmt(ACTIVITIES)} activities of user 1 recorded with \`FeedService.record\` 50 at a time (one \`XADD\` to \`feed:activity\` and the actor's own-feed script each), the consumer group fans each out to the actor's feed (a duplicate, skipped) and the N followers' feeds (one script each), each new entry pushed as a \`feed\` event (one \`XADD\` to the event stream). "Fanned out" = first record → the group has been handed the last activity and has nothing pending (polled every 10 ms; the polling's commands are in the count). Recording and fan-out share this one process here (in a deployment the API records, the worker fans out).`,
    '',
    '| Followers N | Recorded (XADD) activities/s | Activities/s recorded and fanned out (median, min–max) | Feed entries written/s | Feed entries per activity | Redis commands per activity | Redis CPU per activity | Node CPU per activity | Runs |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...feedRows,
    '',
  ].join('\n');
  process.stdout.write(`${md}\n`);
  const file = writeResults(process.env.BENCH_RESULTS_FILE ?? 'realtime-latest.md', md);
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
