import { emailSendKey } from '../../src/jobs';
import { MailService } from '../../src/mail';
import { getQueueToken, Queue } from '../../src/queue';
import { createTestApp, eventually, http, TestApp, testPrefix } from '../support/app';
import { logIn, SEEDED_USERS } from '../support/credentials';
import { describeOnPlatforms } from '../support/platforms';
import { TestSmtpServer } from '../support/smtp';

type Headers = Record<string, string>;

async function completed(t: TestApp, headers: Headers, id: string) {
  return eventually(
    () => http(`${t.url}/api/jobs/email/${id}`, { headers }),
    (r) => r.body?.state === 'completed' || r.body?.state === 'failed',
    60_000,
  );
}

describeOnPlatforms('POST /api/send-email (development outbox)', (t) => {
  let alan: Headers;
  beforeAll(async () => {
    alan = { cookie: await logIn(t.url, SEEDED_USERS.alan.email) };
  });

  it('queues the e-mail (202), a worker sends it, and it is in the outbox once', async () => {
    const res = await http(`${t.url}/api/send-email`, {
      method: 'POST',
      headers: alan,
      body: { email: 'ada@example.com', subject: 'Hello from the queue' },
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ jobId: expect.stringMatching(/^\d+$/) });
    const id = res.body.jobId as string;

    const done = await completed(t, alan, id);
    expect(done.body).toMatchObject({
      id,
      queue: 'email',
      state: 'completed',
      attempts: 1,
      result: { userId: SEEDED_USERS.alan.id, duplicate: false },
    });

    const job = await t.app.get<Queue>(getQueueToken('email')).getJob(id);
    const key = emailSendKey(job!);
    const outbox = await http(`${t.url}/api/dev/outbox?limit=1000`);
    const mine = outbox.body.messages.filter((m: { key: string }) => m.key === key);
    expect(mine).toEqual([
      expect.objectContaining({
        to: 'ada@example.com',
        subject: 'Hello from the queue',
        messageId: done.body.result.messageId,
      }),
    ]);
  });

  it('one Idempotency-Key, sent 10 times at once: one job, one e-mail', async () => {
    const headers = { ...alan, 'idempotency-key': `welcome-${Date.now()}` };
    const responses = await Promise.all(
      Array.from({ length: 10 }, () =>
        http(`${t.url}/api/send-email`, {
          method: 'POST',
          headers,
          body: { email: 'once@example.com', subject: 'Only once' },
        }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(202));
    const ids = new Set(responses.map((r) => r.body.jobId as string));
    expect(ids.size).toBe(1);
    const [id] = ids;
    await completed(t, alan, id);
    const box = await t.app.get(MailService).outbox(1000);
    expect(
      box.filter((m) => m.subject === 'Only once' && m.key.startsWith(`email.${id}.`)),
    ).toHaveLength(1);
  });

  it('answers 401 JSON to an anonymous caller', async () => {
    const res = await http(`${t.url}/api/send-email`, {
      method: 'POST',
      body: { email: 'a@example.com', subject: 'x' },
    });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ statusCode: 401 });
  });

  it.each<[string, unknown, RegExp]>([
    ['a missing email', { subject: 'x' }, /email is required/],
    ['an invalid email', { email: 'not-an-address', subject: 'x' }, /email must be a valid e-mail/],
    [
      'a non-ASCII email',
      { email: 'ａda@example.com', subject: 'x' },
      /email must be a valid e-mail/,
    ],
    ['a missing subject', { email: 'a@example.com' }, /subject is required/],
    ['an empty subject', { email: 'a@example.com', subject: '' }, /subject must be 1-200/],
    [
      'a huge subject',
      { email: 'a@example.com', subject: 'x'.repeat(201) },
      /subject must be 1-200/,
    ],
    [
      'a subject with a line break (header injection)',
      { email: 'a@example.com', subject: 'Hi\r\nBcc: victim@example.com' },
      /subject must not contain control characters/,
    ],
    [
      'a subject that is not a string',
      { email: 'a@example.com', subject: 42 },
      /subject must be a string/,
    ],
    ['an unknown field', { email: 'a@example.com', subject: 'x', cc: 'b@example.com' }, /cc/],
  ])('answers 400 JSON to %s', async (_name, body, message) => {
    const res = await http(`${t.url}/api/send-email`, { method: 'POST', headers: alan, body });
    expect(res.status).toBe(400);
    expect(res.body.statusCode).toBe(400);
    expect(JSON.stringify(res.body.message)).toMatch(message);
  });

  it('answers 400 JSON to a bad Idempotency-Key', async () => {
    const res = await http(`${t.url}/api/send-email`, {
      method: 'POST',
      headers: { ...alan, 'idempotency-key': 'x'.repeat(201) },
      body: { email: 'a@example.com', subject: 'x' },
    });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/Idempotency-Key/);
  });
});

describe('email jobs over SMTP (a real smtp-server in process)', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let alan: Headers;
  beforeAll(async () => {
    smtp = await TestSmtpServer.start();
    t = await createTestApp({
      prefix: testPrefix(__filename),
      env: {
        SMTP_URL: smtp.url,
        MAIL_FROM: 'Patterns <no-reply@patterns.test>',
        QUEUE_BACKOFF_MS: '50',
      },
    });
    alan = { cookie: await logIn(t.url, SEEDED_USERS.alan.email) };
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  const send = (email: string, subject: string) =>
    http(`${t.url}/api/send-email`, { method: 'POST', headers: alan, body: { email, subject } });

  it('delivers the message with the right headers', async () => {
    const res = await send('ada@example.com', 'Over SMTP');
    expect(res.status).toBe(202);
    const done = await completed(t, alan, res.body.jobId);
    expect(done.body.state).toBe('completed');
    const [m] = smtp.withMessageId(done.body.result.messageId);
    expect(m.headers).toMatchObject({
      from: 'Patterns <no-reply@patterns.test>',
      to: 'ada@example.com',
      subject: 'Over SMTP',
    });
    expect(m.to).toEqual(['ada@example.com']);
  });

  it('a temporary refusal (451) is retried with backoff and delivered once', async () => {
    smtp.failNext(2);
    const res = await send('later@example.com', 'After two 451s');
    const done = await completed(t, alan, res.body.jobId);
    expect(done.body).toMatchObject({ state: 'completed', attempts: 3 });
    expect(smtp.withMessageId(done.body.result.messageId)).toHaveLength(1);
  });

  it('a recipient refused for good (550) dead-letters the job at once, with the reason', async () => {
    const res = await send('rejected@example.com', 'Nobody home');
    const done = await completed(t, alan, res.body.jobId);
    expect(done.body).toMatchObject({ state: 'failed', attempts: 1 });
    expect(done.body.failedReason).toMatch(/refused the message.*No such mailbox/);
  });

  it('a server that keeps cutting the connection exhausts the attempts (dead letter after the third)', async () => {
    const res = await send('drop@example.com', 'Cut off');
    const done = await completed(t, alan, res.body.jobId);
    expect(done.body).toMatchObject({ state: 'failed', attempts: 3 });
    expect(done.body.failedReason).toMatch(/could not take the message now/);
  });
});
