import { ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import {
  ListJob,
  ListJobExistsError,
  ListJobLeaseLostError,
  ListJobNotFoundError,
  ListQueue,
  ListQueueInputError,
  ListQueueOptions,
  ListWorker,
} from '../../src/queue';
import { RedisClient, RedisKeys } from '../../src/redis';
import { testPrefix } from '../support/app';
import { startRedisServer } from '../support/redis';
import { until } from '../support/processes';

/**
 * ListQueue (src/queue/list-queue.ts) against the run's real Redis (a Cluster with
 * TEST_REDIS_MODE=cluster): crashed consumers' jobs come back after the visibility timeout,
 * leases guard completion, retries really wait, dead letters keep their reason, and 1,000 jobs
 * survive consumer processes SIGKILLed mid-run.
 */

const FIXTURE = resolve(__dirname, '../fixtures/list-queue-consumer.ts');
const prefix = testPrefix(__filename);
const keys = new RedisKeys(prefix);
const clients: RedisClient[] = [];
const children: ChildProcess[] = [];
const workers: ListWorker[] = [];
let queueNo = 0;

function connect(blocking = false): RedisClient {
  const redisOptions = { maxRetriesPerRequest: blocking ? null : 2 };
  const nodes = process.env.TEST_REDIS_CLUSTER_NODES;
  const c = nodes
    ? new Cluster(
        nodes.split(',').map((hp) => ({ host: hp.split(':')[0], port: Number(hp.split(':')[1]) })),
        { redisOptions },
      )
    : new Redis(process.env.TEST_REDIS_URL!, redisOptions);
  clients.push(c);
  return c;
}

/** A queue of its own (a fresh name) for one test. */
function newQueue(o: Partial<ListQueueOptions> = {}, client = connect()): ListQueue {
  return new ListQueue(client, { keys, name: `q${++queueNo}`, ...o });
}

function startWorker(
  queue: ListQueue,
  handler: (job: ListJob) => Promise<unknown>,
  concurrency = 1,
): ListWorker {
  const w = queue.work(handler, {
    blocking: connect(true),
    concurrency,
    blockTimeoutMs: 200,
    onError: () => undefined,
  });
  workers.push(w);
  return w;
}

async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Redis's clock in ms (the queue's deadlines and due times are in Redis time). */
async function redisNow(c: RedisClient): Promise<number> {
  const [s, us] = (await c.call('TIME')) as [string, string];
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

interface Consumer {
  name: string;
  proc: ChildProcess;
  output: () => string;
  exited: Promise<unknown>;
}

/**
 * A consumer process (test/fixtures/list-queue-consumer.ts), its TypeScript compiled on load by
 * @swc/core as Jest does. Resolves once it is consuming.
 */
async function startConsumer(
  name: string,
  queueName: string,
  env: Record<string, string>,
): Promise<Consumer> {
  const hook = `
    const swc = require('@swc/core');
    const fs = require('node:fs');
    require.extensions['.ts'] = (module, filename) => {
      const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
        filename,
        jsc: { parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true }, target: 'es2023' },
        module: { type: 'commonjs' },
      });
      module._compile(code, filename);
    };
    require(process.argv[1]);`;
  const redisEnv: Record<string, string> = process.env.TEST_REDIS_CLUSTER_NODES
    ? { REDIS_CLUSTER_NODES: process.env.TEST_REDIS_CLUSTER_NODES }
    : { REDIS_URL: process.env.TEST_REDIS_URL! };
  const proc = spawn(process.execPath, ['-e', hook, FIXTURE], {
    cwd: resolve(__dirname, '../..'),
    env: {
      PATH: process.env.PATH ?? '',
      ...redisEnv,
      LQ_PREFIX: prefix,
      LQ_QUEUE: queueName,
      LQ_NAME: name,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  let out = '';
  proc.stdout.on('data', (d) => (out += String(d)));
  proc.stderr.on('data', (d) => (out += String(d)));
  const exited = new Promise((r) => proc.once('exit', r));
  const c = { name, proc, output: () => out, exited };
  const ready = await until(() => out.includes('ready\n') || proc.exitCode !== null, 60_000);
  if (!ready || proc.exitCode !== null) throw new Error(`consumer ${name} did not start:\n${out}`);
  return c;
}

async function kill(c: Consumer): Promise<void> {
  c.proc.kill('SIGKILL');
  await c.exited;
}

afterAll(async () => {
  for (const p of children) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await Promise.all(workers.map((w) => w.close(2000)));
  // Clients a test disconnected on purpose are left alone (QUIT would connect them again).
  await Promise.all(
    clients.filter((c) => c.status !== 'end').map((c) => c.quit().catch(() => c.disconnect())),
  );
});

describe('ListQueue', () => {
  it('keeps every key of a queue under one hash tag and maps bad input to typed errors', async () => {
    const q = newQueue();
    for (const key of Object.values(q.keys)) expect(key).toContain(`:lq:{${q.options.name}}:`);
    await expect(q.enqueue('fax' as never, {})).rejects.toBeInstanceOf(ListQueueInputError);
    await expect(q.enqueue('email', {}, { jobId: 'bad id!' })).rejects.toBeInstanceOf(
      ListQueueInputError,
    );
    await q.enqueue('email', { to: 'a@example.com' }, { jobId: 'welcome-7' });
    await expect(q.enqueue('email', {}, { jobId: 'welcome-7' })).rejects.toBeInstanceOf(
      ListJobExistsError,
    );
    await expect(q.requeueFailed('nope')).rejects.toBeInstanceOf(ListJobNotFoundError);
    expect(() => newQueue({ visibilityTimeoutMs: 0 })).toThrow(ListQueueInputError);
    const [job] = await q.take();
    expect(job).toMatchObject({ id: 'welcome-7', type: 'email', data: { to: 'a@example.com' } });
    expect(job.attempts).toBe(0);
  });

  it('delivers jobs in order through a worker and leaves nothing behind', async () => {
    const q = newQueue();
    const seen: string[] = [];
    const ids: string[] = [];
    for (const type of ['email', 'notification', 'report'] as const)
      ids.push(await q.enqueue(type, { n: ids.length }));
    startWorker(q, async (job) => void seen.push(`${job.type}:${(job.data as { n: number }).n}`));
    await eventually('three jobs processed', async () => seen.length === 3);
    expect(seen).toEqual(['email:0', 'notification:1', 'report:2']);
    await eventually('the queue to be empty', async () => {
      const c = await q.counts();
      return c.ready + c.processing + c.delayed + c.failed === 0;
    });
    expect(await q.client.hlen(q.keys.jobs)).toBe(0);
    expect(await q.client.zcard(q.keys.leases)).toBe(0);
  });

  it('delivers a job again after the visibility timeout when the connection that took it goes away', async () => {
    const q = newQueue({ visibilityTimeoutMs: 500 });
    const id = await q.enqueue('report', { day: '2026-12-01' });
    // Another consumer, on its own connections, takes the job with BLMOVE + lease, then its
    // connections are dropped without completing.
    const doomedClient = connect();
    const doomed = new ListQueue(doomedClient, {
      keys,
      name: q.options.name,
      visibilityTimeoutMs: 500,
    });
    const doomedBlocking = connect(true);
    const taken = await doomed.waitForJob(doomedBlocking, 1000);
    expect(taken?.id).toBe(id);
    doomedClient.disconnect();
    doomedBlocking.disconnect();
    expect(await q.counts()).toMatchObject({ ready: 0, processing: 1 });

    const got: ListJob[] = [];
    startWorker(q, async (job) => void got.push(job));
    await eventually('the job delivered again', async () => got.length === 1);
    expect(got[0]).toMatchObject({ id, type: 'report', data: { day: '2026-12-01' } });
    expect(got[0].token).not.toBe(taken!.token);
    await eventually('the queue to be empty', async () => (await q.counts()).processing === 0);
  });

  it('returns a job taken by BLMOVE whose consumer died before leasing it (the reaper adopts it)', async () => {
    const q = newQueue({ visibilityTimeoutMs: 400 });
    const id = await q.enqueue('notification', { userId: 7 });
    const blocking = connect(true);
    // The move alone, as a consumer that dies right after BLMOVE would leave it.
    expect(await blocking.blmove(q.keys.ready, q.keys.processing, 'RIGHT', 'LEFT', 1)).toBe(id);
    blocking.disconnect();
    expect((await q.reap()).adopted).toBe(1);
    expect(await q.client.zscore(q.keys.leases, id)).not.toBeNull();
    // A second reaper run adopts nothing new (idempotent).
    expect((await q.reap()).adopted).toBe(0);
    // After the adoption deadline it is back in ready; a late lease by the dead consumer fails.
    await eventually('the orphan reclaimed', async () => (await q.reap()).reclaimed === 1);
    expect(await q.lease(id)).toBeNull();
    const [job] = await q.take();
    expect(job.id).toBe(id);
    await q.complete(job);
    expect(await q.counts()).toMatchObject({ ready: 0, processing: 0 });
  });

  it('a late complete after re-delivery does not remove the new delivery', async () => {
    const q = newQueue({ visibilityTimeoutMs: 300 });
    const id = await q.enqueue('email', { to: 'b@example.com' });
    const [first] = await q.take();
    await eventually('the lease to expire', async () => (await q.reap()).reclaimed === 1);
    const [second] = await q.take();
    expect(second.id).toBe(id);
    // The first delivery wakes up late: complete, retry and extend are all refused …
    await expect(q.complete(first)).rejects.toBeInstanceOf(ListJobLeaseLostError);
    await expect(q.retry(first, new Error('late'))).rejects.toBeInstanceOf(ListJobLeaseLostError);
    await expect(q.extend(first)).rejects.toBeInstanceOf(ListJobLeaseLostError);
    // … and the second delivery is untouched.
    expect(await q.client.lrange(q.keys.processing, 0, -1)).toEqual([id]);
    expect(await q.client.hget(q.keys.tokens, id)).toBe(second.token);
    expect(await q.client.hexists(q.keys.jobs, id)).toBe(1);
    await q.complete(second);
    expect(await q.counts()).toMatchObject({ ready: 0, processing: 0 });
    expect(await q.client.hexists(q.keys.jobs, id)).toBe(0);
  });

  it('extends the leases of running jobs, so a slow job is not delivered twice', async () => {
    const q = newQueue({ visibilityTimeoutMs: 1000 });
    await q.enqueue('report', {});
    let runs = 0;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const w = startWorker(q, async () => {
      runs++;
      await released;
    });
    await eventually('the job running', async () => runs === 1);
    // Many visibility timeouts pass while it runs; another consumer is ready to take anything.
    const other: string[] = [];
    startWorker(q, async (job) => void other.push(job.id));
    await new Promise((r) => setTimeout(r, 3500));
    const reaped = await q.reap();
    expect(reaped.reclaimed).toBe(0);
    release();
    await eventually('completed', async () => w.stats.completed === 1);
    expect(other).toEqual([]);
    expect(runs).toBe(1);
  });

  it('retries with delays that really grow (due times in the sorted set), then dead-letters with the reason', async () => {
    const q = newQueue({ backoffMs: 200, maxRetries: 3 });
    const id = await q.enqueue('email', { to: 'c@example.com' });
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const [job] = await eventually('the job ready', async () => {
        const jobs = await q.take();
        if (jobs.length > 0) return jobs;
        // A reaper run only promotes what is due: while Redis's clock is before the due time,
        // the job stays in the delayed set.
        const due = Number(await q.client.zscore(q.keys.delayed, id));
        await q.reap();
        const now = await redisNow(q.client);
        if (now < due) expect(await q.client.zscore(q.keys.delayed, id)).not.toBeNull();
        return undefined;
      });
      expect(job.attempts).toBe(attempt - 1);
      const r = await q.retry(job, new Error(`smtp 451 #${attempt}`));
      if (r.state !== 'delayed') throw new Error(`expected a delayed retry, got ${r.state}`);
      // The due time is in the sorted set, a real delay after Redis's clock.
      expect(Number(await q.client.zscore(q.keys.delayed, id))).toBe(r.dueAt);
      const ceiling = 200 * 2 ** (attempt - 1);
      expect(r.delayMs).toBeGreaterThanOrEqual(ceiling / 2);
      expect(r.delayMs).toBeLessThanOrEqual(ceiling);
      delays.push(r.delayMs);
      expect(await q.counts()).toMatchObject({ ready: 0, processing: 0, delayed: 1 });
    }
    expect(delays[1]).toBeGreaterThanOrEqual(delays[0]);
    expect(delays[2]).toBeGreaterThanOrEqual(delays[1]);
    expect(delays[2]).toBeGreaterThan(delays[0]);

    // The 4th failure (after 3 retries) dead-letters it with its reason.
    const [last] = await eventually('the last attempt', async () => {
      await q.reap();
      const jobs = await q.take();
      return jobs.length > 0 ? jobs : undefined;
    });
    expect(last.attempts).toBe(3);
    const r = await q.retry(last, new Error('smtp 550 mailbox unavailable'));
    expect(r.state).toBe('failed');
    expect(await q.counts()).toEqual({ ready: 0, processing: 0, delayed: 0, failed: 1 });
    const { jobs } = await q.failed();
    expect(jobs).toEqual([
      {
        job: expect.objectContaining({
          id,
          type: 'email',
          data: { to: 'c@example.com' },
          attempts: 4,
        }),
        reason: 'smtp 550 mailbox unavailable',
        failedAt: expect.any(Number),
      },
    ]);
    expect(await q.client.hexists(q.keys.jobs, id)).toBe(0);

    // Requeued from the dead letters, it runs again from attempt 0 and completes.
    await q.requeueFailed(id);
    await expect(q.removeFailed(id)).rejects.toBeInstanceOf(ListJobNotFoundError);
    const [again] = await q.take();
    expect(again).toMatchObject({ id, attempts: 0 });
    await q.complete(again);
    expect(await q.counts()).toEqual({ ready: 0, processing: 0, delayed: 0, failed: 0 });
  });

  it('a worker retries a failing handler and dead-letters it after maxRetries', async () => {
    const q = newQueue({ backoffMs: 20, maxRetries: 2 });
    const id = await q.enqueue('notification', { userId: 3 });
    let calls = 0;
    startWorker(q, async () => {
      calls++;
      throw new Error(`no route to user (${calls})`);
    });
    const dead = await eventually('the dead letter', () =>
      q.failedJob(id).then((d) => d ?? undefined),
    );
    expect(calls).toBe(3);
    expect(dead.reason).toBe('no route to user (3)');
    expect(dead.job.attempts).toBe(3);
  });

  it('a worker survives a Redis restart and resumes; enqueue fails fast while Redis is down', async () => {
    const redis = await startRedisServer();
    const producer = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    const blocking = new Redis(redis.url, { maxRetriesPerRequest: null });
    try {
      await eventually('the producer to connect', async () => producer.status === 'ready');
      const q = new ListQueue(producer, { keys, name: `q${++queueNo}` });
      const done: string[] = [];
      const w = q.work(async (job) => void done.push(job.id), {
        blocking,
        concurrency: 2,
        blockTimeoutMs: 200,
        onError: () => undefined,
      });
      workers.push(w);
      const before = await q.enqueue('email', { n: 1 });
      await eventually('the first job', async () => done.includes(before));

      await redis.stop();
      await eventually('the producer to see Redis gone', async () => producer.status !== 'ready');
      await expect(q.enqueue('email', { n: 2 })).rejects.toThrow();

      await redis.restart(); // a fresh, empty server on the same port
      await eventually('the producer to reconnect', async () => producer.status === 'ready');
      // The scripts are loaded again on their own (EVALSHA falls back to EVAL on NOSCRIPT).
      const after = await q.enqueue('report', { n: 3 });
      await eventually('the worker to resume', async () => done.includes(after), 30_000);
      await w.close(2000);
    } finally {
      producer.disconnect();
      blocking.disconnect();
      await redis.close();
    }
  });

  it('delivers a job again after the visibility timeout when its consumer process is SIGKILLed', async () => {
    const name = `q${++queueNo}`;
    const shared = new ListQueue(connect(), { keys, name, visibilityTimeoutMs: 1000 });
    const id = await shared.enqueue('email', { to: 'd@example.com' });
    const c = await startConsumer('hang', name, {
      LQ_MODE: 'hang',
      LQ_VT_MS: '1000',
      LQ_RUNS_KEY: keys.key('runs', name),
    });
    await until(() => c.output().includes(`took ${id}`), 30_000);
    expect(c.output()).toContain(`took ${id}`);
    await kill(c);
    expect(await shared.counts()).toMatchObject({ ready: 0, processing: 1 });
    const got: ListJob[] = [];
    startWorker(shared, async (job) => void got.push(job));
    await eventually('the job delivered again', async () => got.length === 1, 30_000);
    expect(got[0]).toMatchObject({ id, data: { to: 'd@example.com' } });
    await eventually('the queue to be empty', async () => (await shared.counts()).processing === 0);
  });

  it('1,000 jobs through 4 consumer processes, 3 of them SIGKILLed mid-run: every job processed, none lost', async () => {
    const name = `q${++queueNo}`;
    const queue = new ListQueue(connect(), { keys, name, visibilityTimeoutMs: 3000 });
    const runsKey = keys.tagged(name, 'test-runs');
    const types = ['email', 'notification', 'report'] as const;
    const ids: string[] = [];
    for (let i = 0; i < 1000; i += 100)
      ids.push(
        ...(await Promise.all(
          Array.from({ length: 100 }, (_, j) => queue.enqueue(types[(i + j) % 3], { n: i + j })),
        )),
      );
    const env = {
      LQ_MODE: 'work',
      LQ_VT_MS: '3000',
      LQ_CONCURRENCY: '4',
      LQ_WORK_MS: '30',
      LQ_RUNS_KEY: runsKey,
    };
    let next = 0;
    const live = await Promise.all([0, 1, 2, 3].map(() => startConsumer(`c${next++}`, name, env)));
    const killed: Consumer[] = [];
    const starting: Promise<Consumer>[] = [];
    // Kills come quickly one after the other, replacements start in the background: each
    // victim is killed while jobs are still flowing, with jobs in hand.
    for (const threshold of [100, 250, 400]) {
      await eventually(
        `${threshold} runs`,
        async () => (await queue.client.llen(runsKey)) >= threshold,
        60_000,
      );
      const victim = live.splice(Math.floor(Math.random() * live.length), 1)[0];
      await kill(victim);
      killed.push(victim);
      starting.push(startConsumer(`c${next++}`, name, env));
    }
    live.push(...(await Promise.all(starting)));
    await eventually(
      'every job done',
      async () => {
        const c = await queue.counts();
        return c.ready + c.processing + c.delayed + c.failed === 0;
      },
      120_000,
    );

    const runs = (await queue.client.lrange(runsKey, 0, -1)).map((r) => r.split(':'));
    const byId = new Map<string, string[]>();
    for (const [consumer, id] of runs) byId.set(id, [...(byId.get(id) ?? []), consumer]);
    // Every job ran, and nothing else did.
    expect([...byId.keys()].sort()).toEqual([...ids].sort());
    // At-least-once: a job runs twice only when a consumer was killed after running it and
    // before completing it; every run but one of such a job is by a killed consumer.
    const killedNames = new Set(killed.map((k) => k.name));
    for (const [, by] of byId)
      expect(by.filter((consumer) => !killedNames.has(consumer)).length).toBeLessThanOrEqual(1);
    // The jobs the killed consumers had in hand (taken, never recorded by them) were delivered
    // again after the visibility timeout and processed by another consumer.
    const abandoned = killed.flatMap((k) =>
      [...k.output().matchAll(/^took (\S+)$/gm)]
        .map((m) => ({ id: m[1], by: k.name }))
        .filter(({ id }) => !(byId.get(id) ?? []).includes(k.name)),
    );
    expect(abandoned.length).toBeGreaterThan(0);
    for (const { id, by } of abandoned)
      expect((byId.get(id) ?? []).filter((consumer) => consumer !== by).length).toBeGreaterThan(0);
    expect(await queue.client.hlen(queue.keys.jobs)).toBe(0);
    expect(await queue.client.zcard(queue.keys.leases)).toBe(0);
    await Promise.all(live.map(kill));
  }, 240_000);
});
