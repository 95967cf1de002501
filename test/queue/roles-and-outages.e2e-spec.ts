import { QueueService, QueueUnavailableError, QueueWorkers } from '../../src/queue';
import { createTestApp, eventually, http, TestApp, testPrefix } from '../support/app';
import { issueTokens, SEEDED_USERS } from '../support/credentials';
import { usePrivateRedisApp } from '../support/private-redis';
import { startRedisServer, TestRedis } from '../support/redis';

describe('in-process roles: only processors-on apps process jobs', () => {
  const prefix = testPrefix(__filename);
  let api: TestApp | undefined;
  let all: TestApp | undefined;
  afterAll(async () => {
    await all?.close();
    await api?.close();
  });

  it('the api role runs no worker and leaves jobs waiting; an all-role app then completes them', async () => {
    api = await createTestApp({ prefix, role: 'api', env: { REPORT_JOB_WORK_MS: '0' } });
    expect(api.app.get(QueueWorkers).workers).toHaveLength(0);
    const queues = api.app.get(QueueService);
    const { jobId } = await queues.add('report', 'daily', {}, { userId: 2 });
    // No BullMQ worker of any process is connected to the queue (BullMQ names its connections).
    expect(await queues.queue('report').getWorkers()).toHaveLength(0);
    expect((await queues.get('report', jobId))?.state).toBe('waiting');

    all = await createTestApp({ prefix, role: 'all', env: { REPORT_JOB_WORK_MS: '0' } });
    expect(all.app.get(QueueWorkers).workers.length).toBeGreaterThanOrEqual(2);
    const done = await eventually(
      () => queues.get('report', jobId),
      (j) => j?.state === 'completed',
    );
    expect(done).toMatchObject({ state: 'completed', result: { userId: 2 } });
    // Two full app starts on a shared CI machine: 60 s was seen to run out under load.
  }, 180_000);
});

describe('Redis stopped: producers fail fast, workers resume', () => {
  const { redis, app } = usePrivateRedisApp(__filename, 'fastify');

  it('answers 503 JSON while Redis is down, and completes jobs again once it is back', async () => {
    // A Bearer token: its check needs only a revocation lookup, so it stays valid on a fresh Redis.
    const { accessToken } = await issueTokens(app().url, SEEDED_USERS.alan.email);
    const auth = { authorization: `Bearer ${accessToken}` };
    const queues = app().app.get(QueueService);

    await redis().stop();
    try {
      // Straight to the service: the queue's own fail-fast (no offline queue), not a hang.
      await expect(queues.add('report', 'daily', {}, { userId: 2 })).rejects.toBeInstanceOf(
        QueueUnavailableError,
      );
      const res = await fetch(`${app().url}/api/reports`, {
        method: 'POST',
        headers: auth,
        signal: AbortSignal.timeout(15_000),
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toContain('application/json');
      expect(((await res.json()) as { message: string }).message).toMatch(/unavailable/i);
      // /metrics still answers (queue counts are left out).
      const metrics = await http(`${app().url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.text).not.toContain('queue_jobs{');
    } finally {
      await redis().restart();
    }

    const accepted = await eventually(
      () => http(`${app().url}/api/reports`, { method: 'POST', headers: auth }),
      (r) => r.status === 202,
      30_000,
    );
    expect(accepted.status).toBe(202);
    const done = await eventually(
      () => http(`${app().url}/api/jobs/report/${accepted.body.jobId}`, { headers: auth }),
      (r) => r.body?.state === 'completed',
      30_000,
    );
    expect(done.body).toMatchObject({ state: 'completed', userId: SEEDED_USERS.alan.id });
  });
});

describe('shutdown with Redis gone', () => {
  let redis: TestRedis | undefined;
  afterAll(async () => redis?.close());

  it('closes the app (workers, queues, events readers) without hanging', async () => {
    redis = await startRedisServer();
    const t = await createTestApp({
      prefix: testPrefix(__filename),
      role: 'all',
      env: {
        REDIS_URL: redis.url,
        REDIS_COMMAND_TIMEOUT_MS: '500',
        QUEUE_DRAIN_TIMEOUT_MS: '1000',
      },
    });
    const queues = t.app.get(QueueService);
    await queues.add('report', 'daily', {}, { userId: 2 });
    await redis.kill();
    // Bounded by the drain timeout and the forced-close bounds; Jest's timeout would catch a hang.
    await t.close();
    expect(t.app.get(QueueWorkers).workers).toHaveLength(0);
    // The abandoned job's processor (1 s of simulated work) still has its timer: let it lapse,
    // so Jest sees no open handle. Not an assertion.
    await new Promise((r) => setTimeout(r, 1_500));
  });
});

describe('Redis frozen (SIGSTOP): an enqueue is bounded by the command timeout', () => {
  // REDIS_COMMAND_TIMEOUT_MS=500 (usePrivateRedisApp). The enqueue connection has no per-command
  // timer: one shared deadline of that timeout bounds every add (queue-connections.ts).
  const { redis, app } = usePrivateRedisApp(__filename, 'express');

  it('answers QueueUnavailableError instead of waiting for the frozen server, then adds again once it answers', async () => {
    const queues = app().app.get(QueueService);
    await queues.add('report', 'daily', {}, { userId: 2 }); // connected and ready
    redis().freeze();
    try {
      const adds = Array.from({ length: 5 }, () =>
        queues.add('report', 'daily', {}, { userId: 2 }),
      );
      for (const add of adds) {
        await expect(add).rejects.toBeInstanceOf(QueueUnavailableError);
        await expect(add).rejects.toThrow('redis did not answer within 500 ms');
      }
    } finally {
      redis().thaw();
    }
    const { jobId } = await eventually(
      () => queues.add('report', 'daily', {}, { userId: 2 }).catch(() => undefined),
      (r) => r !== undefined,
    ).then((r) => r!);
    expect((await queues.get('report', jobId))?.state).toMatch(/waiting|active|completed/);
  });
});
