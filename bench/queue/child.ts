/**
 * One measured run of the queue benchmark, in a process of its own (forked by run.ts): one
 * variant (raw BullMQ, our QueueModule, or ListQueue) at one concurrency against the runner's
 * private redis-server. The producer and the worker live in this process; the producer keeps
 * `2 × concurrency` jobs outstanding (closed loop: a new job is added when one completes), so
 * the latency is enqueue → completion with a bounded backlog, not the depth of a flood.
 *
 * Protocol (IPC): sends `{ type: 'ready', port: 0 }`, waits for `{ type: 'go' }`, runs the
 * warm-up jobs, snapshots INFO commandstats, runs the measured jobs, snapshots again and sends
 * `{ type: 'result', … }`. Exits on SIGTERM or when the parent goes away.
 */
import 'reflect-metadata';
import { Injectable, INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { queueOptions, redisOptions } from '../../src/app.options';
import { MetricsModule } from '../../src/metrics';
import {
  ListQueue,
  Processor,
  QueueModule,
  queuePrefix,
  QueueService,
  QueueWorkers,
  resolveQueueOptions,
  WorkerHost,
} from '../../src/queue';
import { RedisKeys, RedisModule } from '../../src/redis';
import { redisDelta, redisSnapshot } from '../lib/redis-cost';
import { benchConfig, privateRedisUrl } from '../lib/server';
import { num } from '../lib/util';

/**
 * `raw`: BullMQ alone in its process; `raw-app`: the same, in a process that also holds our
 * module's Nest application context (producers only: the heap, default metrics and connections
 * a Nest app has), which is where a Nest team would run BullMQ directly; `ours`: QueueModule;
 * `list`: ListQueue.
 */
export type Variant = 'raw' | 'raw-app' | 'ours' | 'list';

export interface RunResult {
  type: 'result';
  variant: Variant;
  concurrency: number;
  jobs: number;
  elapsedMs: number;
  /** enqueue → completion, ms */
  p50Ms: number;
  p99Ms: number;
  commands: number;
  scripts: number;
  byCommand: [string, number][];
  redisCpuMs: number;
  /** this process's CPU (producer + worker + the library), ms */
  nodeCpuMs: number;
}

/** What the driver needs of a variant. */
interface Harness {
  add(t0: number): Promise<unknown>;
  /** Set by the driver; the variant calls it with the job's `t0` once its completion is stored. */
  completed: (t0: number) => void;
  close(): Promise<void>;
}

const QUEUE = 'email';

async function rawBullmq(url: string, concurrency: number, besideApp: boolean): Promise<Harness> {
  // EXACTLY our module's defaults (resolved from the same config), written the way a Nest team
  // would use BullMQ directly: Queue + Worker, connection options, same prefix.
  const config = benchConfig(url, { QUEUE_CONCURRENCY: String(concurrency) });
  const o = resolveQueueOptions(queueOptions(config, true));
  const u = new URL(url);
  const connection = { host: u.hostname, port: Number(u.port) };
  const prefix = queuePrefix(o.prefix, QUEUE);
  const keepAge = Math.ceil(o.keepAgeMs / 1000);
  const queue = new Queue(QUEUE, {
    connection,
    prefix,
    defaultJobOptions: {
      attempts: o.attempts,
      backoff: { type: 'exponential', delay: o.backoffMs, jitter: o.backoffJitter },
      removeOnComplete: { count: o.keepCompleted, age: keepAge },
      removeOnFail: { count: o.keepFailed, age: keepAge },
    },
  });
  const closeRaw = async () => {
    await worker.close();
    await queue.close();
  };
  const h: Harness = {
    add: (t0) => queue.add('bench', { t0 }),
    completed: () => undefined,
    close: closeRaw,
  };
  const worker = new Worker(QUEUE, async () => null, {
    connection,
    prefix,
    concurrency: o.concurrency,
    lockDuration: o.lockDurationMs,
    stalledInterval: o.stalledIntervalMs,
  });
  worker.on('completed', (job: Job<{ t0: number }>) => h.completed(job.data.t0));
  await worker.waitUntilReady();
  await queue.waitUntilReady();
  if (besideApp) {
    // Raw BullMQ's hot path in a process that also holds our module's app context (producers
    // only: same heap, default metrics, connections): tells the cost of the environment from
    // the cost of our per-job code.
    const app = await ourApp(url, concurrency, false);
    h.close = async () => {
      await closeRaw();
      await app.close();
    };
  }
  return h;
}

@Injectable()
@Processor(QUEUE)
class BenchProcessor extends WorkerHost {
  async process(): Promise<null> {
    return null;
  }
}

/** The Nest application context of our variant; with `processors: false`, producers only. */
async function ourApp(
  url: string,
  concurrency: number,
  processors: boolean,
): Promise<INestApplicationContext> {
  const config = benchConfig(url, { QUEUE_CONCURRENCY: String(concurrency) });
  @Module({
    imports: [
      RedisModule.forRoot(redisOptions(config)),
      // As in the app (default metrics on); BENCH_DEFAULT_METRICS=off to measure their cost.
      MetricsModule.forRoot({ defaultMetrics: process.env.BENCH_DEFAULT_METRICS !== 'off' }),
      QueueModule.forRoot({ ...queueOptions(config, processors), isGlobal: true }),
    ],
    providers: [BenchProcessor],
  })
  class BenchModule {}
  return NestFactory.createApplicationContext(BenchModule, { logger: false });
}

async function ourModule(url: string, concurrency: number): Promise<Harness> {
  const app = await ourApp(url, concurrency, true);
  const queues = app.get(QueueService);
  const [worker] = app.get(QueueWorkers).workers;
  if (!worker) throw new Error('QueueModule started no worker for the bench processor');
  const h: Harness = {
    add: (t0) => queues.add(QUEUE, 'bench', { t0 }),
    completed: () => undefined,
    close: () => app.close(),
  };
  worker.on('completed', (job: Job<{ t0: number }>) => h.completed(job.data.t0));
  await worker.waitUntilReady();
  return h;
}

async function listQueue(url: string, concurrency: number): Promise<Harness> {
  const client = new Redis(url, { maxRetriesPerRequest: 2 });
  const blocking = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new ListQueue(client, { keys: new RedisKeys('bench') });
  const h: Harness = {
    add: (t0) => queue.enqueue('email', { t0 }),
    completed: () => undefined,
    close: async () => {
      await worker.close(2000);
      blocking.disconnect();
      await client.quit();
    },
  };
  const worker = queue.work(async () => null, {
    blocking,
    concurrency,
    onCompleted: (job) => h.completed((job.data as { t0: number }).t0),
  });
  return h;
}

/** Closed loop: `window` jobs outstanding until `total` have completed; latencies in ms. */
function drive(h: Harness, total: number, window: number): Promise<Float64Array> {
  return new Promise((resolve, reject) => {
    const latencies = new Float64Array(total);
    let sent = 0;
    let done = 0;
    const send = () => {
      sent++;
      h.add(performance.now()).catch(reject);
    };
    h.completed = (t0) => {
      if (done >= total) return;
      latencies[done++] = performance.now() - t0;
      if (done === total) resolve(latencies);
      else if (sent < total) send();
    };
    for (let i = 0; i < Math.min(window, total); i++) send();
  });
}

function pct(sorted: Float64Array, p: number): number {
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

/**
 * With BENCH_CPU_PROF_DIR: a V8 CPU profile of the measured jobs only (start-up and warm-up
 * excluded), written there as `<variant>-c<n>-<pid>.cpuprofile`.
 */
async function startProfiler(): Promise<{ stop(file: string): Promise<void> } | undefined> {
  const dir = process.env.BENCH_CPU_PROF_DIR;
  if (!dir) return undefined;
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))),
    );
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 100 });
  await post('Profiler.start');
  return {
    stop: async (file) => {
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      writeFileSync(join(dir, file), JSON.stringify(profile));
      session.disconnect();
    },
  };
}

async function main(): Promise<void> {
  const url = privateRedisUrl();
  const variant = process.env.BENCH_VARIANT as Variant;
  const concurrency = Math.round(num('BENCH_CONCURRENCY', 10, 1));
  const jobs = Math.round(num('BENCH_JOBS', 5000, 1));
  const warmup = Math.round(num('BENCH_WARMUP_JOBS', 500, 0));
  const window = Math.max(2, 2 * concurrency);
  const admin = new Redis(url, { maxRetriesPerRequest: 1 });
  const h =
    variant === 'raw'
      ? await rawBullmq(url, concurrency, false)
      : variant === 'raw-app'
        ? await rawBullmq(url, concurrency, true)
        : variant === 'ours'
          ? await ourModule(url, concurrency)
          : variant === 'list'
            ? await listQueue(url, concurrency)
            : undefined;
  if (!h) throw new Error(`BENCH_VARIANT must be raw, raw-app, ours or list (got "${variant}")`);

  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    setTimeout(() => process.exit(0), 3000).unref();
    h.close().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  };
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);

  await new Promise<void>((resolve) => {
    process.on('message', (m: { type?: string }) => m?.type === 'go' && resolve());
    process.send?.({ type: 'ready', port: 0, pid: process.pid });
  });
  if (warmup > 0) await drive(h, warmup, window);
  const profiler = await startProfiler();
  const before = await redisSnapshot(admin);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const latencies = await drive(h, jobs, window);
  const elapsedMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const after = await redisSnapshot(admin);
  await profiler?.stop(`${variant}-c${concurrency}-${process.pid}.cpuprofile`);
  const d = redisDelta(before, after);
  latencies.sort();
  const result: RunResult = {
    type: 'result',
    variant,
    concurrency,
    jobs,
    elapsedMs,
    p50Ms: pct(latencies, 50),
    p99Ms: pct(latencies, 99),
    commands: d.commands,
    scripts: d.scripts,
    byCommand: [...d.byCommand.entries()],
    redisCpuMs: d.cpuMs,
    nodeCpuMs: (cpu.user + cpu.system) / 1000,
  };
  admin.disconnect();
  process.send?.(result);
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
