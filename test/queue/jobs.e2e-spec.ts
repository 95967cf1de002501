import { JobEvent, JobEvents } from '../../src/queue';
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

  it('answers 401 to anonymous requests', async () => {
    expect((await http(`${t.url}/api/reports`, { method: 'POST' })).status).toBe(401);
    expect((await http(`${t.url}/api/jobs/report/1`)).status).toBe(401);
  });
});
