import type { INestApplicationContext } from '@nestjs/common';
import { QueueService } from '../../src/queue';
import { createTestApp, eventually, http, TestApp, testPrefix } from '../support/app';
import { logIn, SEEDED_USERS } from '../support/credentials';
import { FlakyProcessor, startFlakyWorker } from '../fixtures/queue-worker-app';

/**
 * Retries and dead letters: an API app (no processors) produces to the `email` queue; a worker
 * built from QueueModule alone runs a processor that fails until healed; jobs get a 200 ms backoff.
 */
describe('retries, backoff and dead letters', () => {
  const prefix = testPrefix(__filename);
  const BACKOFF = 200;
  let api: TestApp;
  let worker: { app: INestApplicationContext; processor: FlakyProcessor };
  let queues: QueueService;
  let admin: Record<string, string>;
  let alan: Record<string, string>;

  beforeAll(async () => {
    // Attempts and backoff are job options: the producer's settings decide them.
    api = await createTestApp({
      prefix,
      role: 'api',
      env: { QUEUE_BACKOFF_MS: String(BACKOFF), QUEUE_ATTEMPTS: '3' },
    });
    worker = await startFlakyWorker(prefix);
    queues = api.app.get(QueueService);
    admin = { cookie: await logIn(api.url, SEEDED_USERS.ada.email) };
    alan = { cookie: await logIn(api.url, SEEDED_USERS.alan.email) };
  });
  afterAll(async () => {
    await worker?.app.close();
    await api?.close();
  });

  const failedFor = (id: string) =>
    eventually(
      () => queues.get('email', id),
      (j) => j?.state === 'failed',
      60_000,
    );

  it('retries with growing, jittered exponential delays and dead-letters after the third failure', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await queues.add('email', 'flaky', {}, { userId: 2 })).jobId);
    for (const id of ids) {
      const job = await failedFor(id);
      expect(job).toMatchObject({ state: 'failed', attempts: 3 });
      expect(job!.failedReason).toBe(`flaky failure of job ${id}`);
    }
    const firstDelays: number[] = [];
    for (const id of ids) {
      const tries = worker.processor.attempts.filter((a) => a.jobId === id);
      expect(tries.map((a) => a.attempt)).toEqual([1, 2, 3]);
      // BullMQ's exponential backoff with jitter 0.5: retry n waits in [½·d·2^(n-1), d·2^(n-1)].
      const delays = await eventually(
        async () => worker.processor.retryDelays.get(id) ?? [],
        (l) => l.length === 3,
      );
      const [first, second, last] = delays;
      expect(first).toBeGreaterThanOrEqual(BACKOFF / 2);
      expect(first).toBeLessThanOrEqual(BACKOFF);
      expect(second).toBeGreaterThanOrEqual(BACKOFF);
      expect(second).toBeLessThanOrEqual(2 * BACKOFF);
      expect(second).toBeGreaterThanOrEqual(first);
      expect(last).toBe(0); // no retry after the third failure: dead letter
      // And the retries really waited (at least that long) between attempts (BullMQ's timestamps).
      expect(tries[1].processedOn - tries[0].processedOn).toBeGreaterThanOrEqual(first);
      expect(tries[2].processedOn - tries[1].processedOn).toBeGreaterThanOrEqual(second);
      firstDelays.push(first);
    }
    // Jitter: five jobs did not all draw the same delay.
    expect(new Set(firstDelays).size).toBeGreaterThan(1);
  });

  it('dead-letters a job that throws UnrecoverableError at once', async () => {
    const { jobId } = await queues.add('email', 'flaky', { unrecoverable: true });
    const job = await failedFor(jobId);
    expect(job).toMatchObject({ state: 'failed', attempts: 1, failedReason: 'permanent failure' });
    expect(worker.processor.attempts.filter((a) => a.jobId === jobId)).toHaveLength(1);
  });

  it('lists dead letters for the admin and retries one from the endpoint until it completes', async () => {
    const { jobId } = await queues.add('email', 'flaky', {}, { userId: 2 });
    await failedFor(jobId);

    const list = await http(`${api.url}/api/admin/queues/email/failed?count=100`, {
      headers: admin,
    });
    expect(list.status).toBe(200);
    expect(list.body.total).toBeGreaterThanOrEqual(1);
    const entry = list.body.jobs.find((j: { id: string }) => j.id === jobId);
    expect(entry).toMatchObject({
      id: jobId,
      queue: 'email',
      state: 'failed',
      attemptsMade: 3,
      failedReason: `flaky failure of job ${jobId}`,
    });
    expect(entry.stacktrace[0]).toContain('flaky failure');

    worker.processor.healed.add(jobId);
    const retried = await http(`${api.url}/api/admin/queues/email/jobs/${jobId}/retry`, {
      method: 'POST',
      headers: admin,
    });
    expect(retried.status).toBe(200);
    const done = await eventually(
      () => queues.get('email', jobId),
      (j) => j?.state === 'completed',
      60_000,
    );
    expect(done).toMatchObject({ state: 'completed', result: { userId: 2, ok: true } });

    // Not failed any more: 409; unknown: 404.
    const again = await http(`${api.url}/api/admin/queues/email/jobs/${jobId}/retry`, {
      method: 'POST',
      headers: admin,
    });
    expect(again.status).toBe(409);
    expect(again.body.message).toContain('not failed');
    const unknown = await http(`${api.url}/api/admin/queues/email/jobs/999999999/retry`, {
      method: 'POST',
      headers: admin,
    });
    expect(unknown.status).toBe(404);
  });

  it('keeps the admin endpoints to the admin role: 401 anonymous, 403 others, 400 bad input', async () => {
    const url = `${api.url}/api/admin/queues/email/failed`;
    expect((await http(url)).status).toBe(401);
    const forbidden = await http(url, { headers: alan });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.message).toContain('admin');
    expect(
      (
        await http(`${api.url}/api/admin/queues/email/jobs/1/retry`, {
          method: 'POST',
          headers: alan,
        })
      ).status,
    ).toBe(403);
    for (const bad of [
      '/api/admin/queues/nope/failed',
      '/api/admin/queues/email/failed?count=0',
      '/api/admin/queues/email/failed?count=101',
      '/api/admin/queues/email/failed?start=-1',
    ]) {
      const res = await http(`${api.url}${bad}`, { headers: admin });
      expect({ bad, status: res.status }).toEqual({ bad, status: 400 });
      expect(typeof res.body.message).toBe('string');
    }
    const badId = await http(`${api.url}/api/admin/queues/email/jobs/abc/retry`, {
      method: 'POST',
      headers: admin,
    });
    expect(badId.status).toBe(400);
  });
});
