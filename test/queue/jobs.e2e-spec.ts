import { JobEvent, JobEvents, QueueService } from '../../src/queue';
import { logIn, SEEDED_USERS } from '../support/credentials';
import { eventually, http } from '../support/app';
import { describeOnPlatforms } from '../support/platforms';

describeOnPlatforms('report jobs end to end', { env: { REPORT_JOB_WORK_MS: '50' } }, (t) => {
  let alan: Record<string, string>;
  let grace: Record<string, string>;
  beforeAll(async () => {
    alan = { cookie: await logIn(t.url, SEEDED_USERS.alan.email) };
    grace = { cookie: await logIn(t.url, SEEDED_USERS.grace.email) };
  });

  it('queues a report (202), a worker completes it, and only its owner can read it', async () => {
    const events: JobEvent[] = [];
    const jobEvents = t.app.get(JobEvents);
    const off = jobEvents.onCompleted((e) => events.push(e));
    await jobEvents.ready();
    try {
      const res = await http(`${t.url}/api/reports`, { method: 'POST', headers: alan });
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ jobId: expect.stringMatching(/^\d+$/) });
      const id = res.body.jobId as string;

      const done = await eventually(
        () => http(`${t.url}/api/jobs/report/${id}`, { headers: alan }),
        (r) => r.body?.state === 'completed',
      );
      expect(done.status).toBe(200);
      expect(done.body).toMatchObject({
        id,
        queue: 'report',
        state: 'completed',
        attempts: 1,
        userId: SEEDED_USERS.alan.id,
        result: { userId: SEEDED_USERS.alan.id, users: expect.any(Number) },
      });
      expect(typeof done.body.finishedAt).toBe('string');

      // Another user: 404, as for a job that does not exist.
      const other = await http(`${t.url}/api/jobs/report/${id}`, { headers: grace });
      expect(other.status).toBe(404);
      expect(other.body.message).toContain('not found');

      // The completion reached a subscriber with the right user.
      const seen = await eventually(
        async () => events.filter((e) => e.queue === 'report' && e.jobId === id),
        (l) => l.length > 0,
      );
      expect(seen).toEqual([
        expect.objectContaining({ queue: 'report', jobId: id, userId: SEEDED_USERS.alan.id }),
      ]);

      // The worker told the user: a notification job stored it.
      const notes = await eventually(
        () => http(`${t.url}/api/notifications`, { headers: alan }),
        (r) =>
          Array.isArray(r.body) && r.body.some((n: { message: string }) => n.message.includes(id)),
      );
      expect(notes.body[0]).toMatchObject({ message: `Your report ${id} is ready` });
    } finally {
      off();
    }
  });

  it('gives 20 concurrent requests with one Idempotency-Key one job; another user gets another', async () => {
    const queue = t.app.get(QueueService).queue('report');
    const states = ['waiting', 'active', 'delayed', 'completed', 'failed'] as const;
    const before = await queue.getJobCountByTypes(...states);
    const key = `key-${Date.now()} with spaces & symbols!`;
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        http(`${t.url}/api/reports`, {
          method: 'POST',
          headers: { ...alan, 'idempotency-key': key },
        }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
    const ids = new Set(answers.map((a) => a.body.jobId as string));
    expect(ids.size).toBe(1);
    expect((await queue.getJobCountByTypes(...states)) - before).toBe(1);

    // The same key from another user is another job; QueueService says which was a duplicate.
    const other = await http(`${t.url}/api/reports`, {
      method: 'POST',
      headers: { ...grace, 'idempotency-key': key },
    });
    expect(other.status).toBe(202);
    expect(ids.has(other.body.jobId)).toBe(false);
    const service = t.app.get(QueueService);
    const grace3 = { userId: SEEDED_USERS.grace.id };
    expect(await service.add('report', 'daily', {}, { ...grace3, idempotencyKey: key })).toEqual({
      jobId: other.body.jobId,
      duplicate: true,
    });
    const fresh = await service.add(
      'report',
      'daily',
      {},
      { ...grace3, idempotencyKey: `${key}-2` },
    );
    expect(fresh.duplicate).toBe(false);
  });

  it('refuses bad input with 4xx JSON', async () => {
    const cases: [string, string, Record<string, string>?][] = [
      ['POST', '/api/reports', { 'idempotency-key': 'x'.repeat(201) }],
      ['POST', '/api/reports', { 'idempotency-key': 'tab\there' }],
      ['GET', '/api/jobs/nope/1'],
      ['GET', '/api/jobs/report/abc'],
      ['GET', '/api/jobs/report/0'],
      ['GET', '/api/jobs/report/1e3'],
      ['GET', `/api/jobs/report/${'9'.repeat(17)}`],
    ];
    for (const [method, path, headers] of cases) {
      const res = await http(`${t.url}${path}`, { method, headers: { ...alan, ...headers } });
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect(res.headers.get('content-type')).toContain('application/json');
      expect(typeof res.body.message).toBe('string');
    }
    const unknown = await http(`${t.url}/api/jobs/report/987654321`, { headers: alan });
    expect(unknown.status).toBe(404);
    // The POST reads no body, but a malformed one is still refused as JSON.
    const body = await http(`${t.url}/api/reports`, {
      method: 'POST',
      headers: { ...alan, 'content-type': 'application/json' },
      raw: '{oops',
    });
    expect(body.status).toBe(400);
  });

  it('exposes queue metrics after a job: counts by state, durations, results', async () => {
    const completed = /queue_jobs_total\{queue="report",result="completed"\} [1-9]/;
    const metrics = await eventually(
      async () => (await http(`${t.url}/metrics`)).text,
      (text) => completed.test(text),
    );
    expect(metrics).toMatch(completed);
    expect(metrics).toMatch(/queue_job_duration_seconds_count\{queue="report"\} [1-9]/);
    expect(metrics).toMatch(/queue_jobs\{queue="report",state="completed"\} [1-9]/);
    for (const state of ['waiting', 'active', 'delayed', 'failed'])
      expect(metrics).toContain(`queue_jobs{queue="email",state="${state}"}`);
  });

  it('serves bull-board at /admin/queues to the admin only (401, 403, 200)', async () => {
    const ada = { cookie: await logIn(t.url, SEEDED_USERS.ada.email) };
    const anonymous = await http(`${t.url}/admin/queues`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ statusCode: 401, message: expect.any(String) });
    const forbidden = await http(`${t.url}/admin/queues/api/queues`, { headers: alan });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toMatchObject({ statusCode: 403 });
    const page = await http(`${t.url}/admin/queues`, { headers: ada });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const api = await http(`${t.url}/admin/queues/api/queues`, { headers: ada });
    expect(api.status).toBe(200);
    expect(api.body.queues.map((q: { name: string }) => q.name).sort()).toEqual([
      'email',
      'notification',
      'report',
    ]);
  });

  it('answers 401 to anonymous requests', async () => {
    expect((await http(`${t.url}/api/reports`, { method: 'POST' })).status).toBe(401);
    expect((await http(`${t.url}/api/jobs/report/1`)).status).toBe(401);
  });
});
