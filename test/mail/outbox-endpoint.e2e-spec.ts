import { MailService } from '../../src/mail';
import { createTestApp, http, testPrefix } from '../support/app';
import { describeOnPlatforms } from '../support/platforms';

describeOnPlatforms('GET /api/dev/outbox', { env: { OUTBOX_MAX: '20' } }, (t) => {
  beforeAll(async () => {
    const mail = t.app.get(MailService);
    for (let i = 1; i <= 3; i++) {
      await mail.send(
        { to: `user${i}@example.com`, subject: `Subject ${i}`, text: `Body ${i}` },
        { key: `endpoint-${i}` },
      );
    }
  });

  it('lists the outbox newest first', async () => {
    const res = await http(`${t.url}/api/dev/outbox`);
    expect(res.status).toBe(200);
    expect(res.body.transport).toBe('outbox');
    expect(res.body.messages.map((m: { subject: string }) => m.subject)).toEqual([
      'Subject 3',
      'Subject 2',
      'Subject 1',
    ]);
    expect(res.body.messages[0]).toMatchObject({
      key: 'endpoint-3',
      to: 'user3@example.com',
      from: 'no-reply@localhost',
      text: 'Body 3',
    });
    expect(res.body.messages[0].messageId).toMatch(/^<.+@localhost>$/);
    expect(Number.isNaN(Date.parse(res.body.messages[0].sentAt))).toBe(false);
  });

  it('honours ?limit=', async () => {
    const res = await http(`${t.url}/api/dev/outbox?limit=2`);
    expect(res.status).toBe(200);
    expect(res.body.messages).toHaveLength(2);
    expect(res.body.messages[0].subject).toBe('Subject 3');
  });

  it.each(['0', '1001', '-1', 'abc', '1.5', '', '99999999999999999999'])(
    'answers 400 JSON to limit=%j',
    async (limit) => {
      const res = await http(`${t.url}/api/dev/outbox?limit=${encodeURIComponent(limit)}`);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        statusCode: 400,
        message: 'limit must be an integer from 1 to 1000',
      });
    },
  );
});

describe('GET /api/dev/outbox is not served', () => {
  it('in the worker role (404)', async () => {
    const app = await createTestApp({ prefix: testPrefix(__filename), role: 'worker' });
    try {
      const res = await http(`${app.url}/api/dev/outbox`);
      expect(res.status).toBe(404);
    } finally {
      await app.close();
    }
  });

  it('in production (404), where the API still runs', async () => {
    const app = await createTestApp({
      prefix: testPrefix(__filename),
      role: 'api',
      env: {
        NODE_ENV: 'production',
        JWT_SECRET: 'q7Zr0yV3m9Xk2Lp8Wc4Tn6Bd1Hs5Fg0Je',
        SESSION_SECRET: 'Ua8Ys2Kd7Pw3Ne9Rv1Cx5Mb4Qt6Lh0Zj',
      },
    });
    try {
      expect((await http(`${app.url}/api/dev/outbox`)).status).toBe(404);
      expect((await http(`${app.url}/health/live`)).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});
