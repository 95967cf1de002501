import { Database } from '../../src/database';
import { RealtimeService } from '../../src/realtime';
import {
  createTestApp,
  eventually,
  http,
  openSharedTestDatabase,
  PLATFORMS,
  TestApp,
  testPrefix,
} from '../support/app';
import { issueTokens, logIn, SEEDED_USERS, sessionIdOf } from '../support/credentials';
import { connectSocket, refusal, TestSocket } from '../support/sockets';

/**
 * Two API instances (A, B) and a worker process of one fleet (same Redis, same prefix, one
 * database): what a client connected to B receives from A and from the worker.
 */
describe.each(PLATFORMS)('realtime gateway across instances on %s', (platform) => {
  let db: Database;
  let a: TestApp;
  let b: TestApp;
  let worker: TestApp;
  const open: TestSocket[] = [];
  const track = (s: TestSocket) => (open.push(s), s);

  beforeAll(async () => {
    db = await openSharedTestDatabase();
    const prefix = testPrefix(__filename);
    const env = { REPORT_JOB_WORK_MS: '50' };
    [a, b, worker] = await Promise.all([
      createTestApp({ platform, prefix, role: 'api', database: db, env }),
      createTestApp({ platform, prefix, role: 'api', database: db, env }),
      createTestApp({ platform, prefix, role: 'worker', database: db, env }),
    ]);
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
  });
  afterAll(async () => {
    await Promise.all([a, b, worker].map((t) => t?.close()));
    await db?.close();
  });

  it('delivers a notification sent through A to the client on B (and to none other)', async () => {
    const alan = await logIn(a.url, SEEDED_USERS.alan.email);
    const grace = await logIn(a.url, SEEDED_USERS.grace.email);
    const onB = track(await connectSocket(b.url, { cookie: alan }));
    const graceOnA = track(await connectSocket(a.url, { cookie: grace }));
    const res = await http(`${a.url}/api/notify`, {
      method: 'POST',
      headers: { cookie: alan },
      body: { userId: SEEDED_USERS.alan.id, message: 'hello from A' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ sent: true, id: expect.any(String) });
    const got = await eventually(
      async () => onB.events('notification'),
      (n) => n.length > 0,
    );
    expect(got).toEqual([
      expect.objectContaining({
        id: res.body.id,
        message: 'hello from A',
        from: SEEDED_USERS.alan.id,
      }),
    ]);
    // Grace's socket got nothing of Alan's.
    const ping = (await graceOnA.socket.emitWithAck('ping')) as { pong: boolean };
    expect(ping.pong).toBe(true);
    expect(graceOnA.events('notification')).toEqual([]);
  });

  it('lets an admin notify another user, refuses a non-admin (403), and 404s an unknown user', async () => {
    const ada = await issueTokens(a.url, SEEDED_USERS.ada.email);
    const alan = await issueTokens(a.url, SEEDED_USERS.alan.email);
    const onB = track(await connectSocket(b.url, { token: alan.accessToken }));
    const sent = await http(`${a.url}/api/notify`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ada.accessToken}` },
      body: { userId: SEEDED_USERS.alan.id, message: 'from the admin' },
    });
    expect(sent.status).toBe(200);
    await eventually(
      async () => onB.events('notification'),
      (n) => n.length === 1,
    );
    expect(onB.events('notification')).toEqual([
      expect.objectContaining({ message: 'from the admin', from: SEEDED_USERS.ada.id }),
    ]);
    const forbidden = await http(`${a.url}/api/notify`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alan.accessToken}` },
      body: { userId: SEEDED_USERS.grace.id, message: 'not allowed' },
    });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.message).toMatch(/admin/);
    const unknown = await http(`${a.url}/api/notify`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ada.accessToken}` },
      body: { userId: 999_999, message: 'nobody' },
    });
    expect(unknown.status).toBe(404);
  });

  it('delivers job.completed for a report queued on A and processed by the worker to the client on B', async () => {
    const grace = await logIn(a.url, SEEDED_USERS.grace.email);
    const onB = track(await connectSocket(b.url, { cookie: grace }));
    const queued = await http(`${a.url}/api/reports`, {
      method: 'POST',
      headers: { cookie: grace },
    });
    expect(queued.status).toBe(202);
    const reports = async () =>
      onB.events('job.completed').filter((e) => (e as { queue: string }).queue === 'report');
    const done = await eventually(reports, (e) => e.length > 0);
    expect(done).toEqual([
      expect.objectContaining({
        queue: 'report',
        jobId: queued.body.jobId,
        result: expect.objectContaining({ userId: SEEDED_USERS.grace.id }),
      }),
    ]);
  });

  it('delivers an event the worker process sends with RealtimeService.toUser', async () => {
    const alan = await logIn(b.url, SEEDED_USERS.alan.email);
    const onB = track(await connectSocket(b.url, { cookie: alan }));
    await worker.app.get(RealtimeService).toUser(SEEDED_USERS.alan.id, 'digest.ready', { n: 3 });
    await eventually(
      async () => onB.events('digest.ready'),
      (e) => e.length > 0,
    );
    expect(onB.events('digest.ready')).toEqual([{ n: 3 }]);
  });

  it('counts a user’s sockets across instances through the streams adapter', async () => {
    const grace = await logIn(a.url, SEEDED_USERS.grace.email);
    track(await connectSocket(a.url, { cookie: grace }));
    track(await connectSocket(b.url, { cookie: grace }));
    const n = await eventually(
      () => a.app.get(RealtimeService).connectedSockets(SEEDED_USERS.grace.id),
      (c) => c === 2,
    );
    expect(n).toBe(2);
  });

  it('refuses handshakes without credentials, with a bad or expired token, or a revoked session; disconnects a socket when its token expires', async () => {
    expect(await refusal(b.url)).toMatchObject({ data: { code: 'UNAUTHENTICATED' } });
    expect(await refusal(b.url, { token: 'not-a-token' })).toMatchObject({
      data: { code: 'UNAUTHENTICATED' },
    });
    const expired = await createTestApp({
      platform,
      prefix: testPrefix(__filename),
      role: 'api',
      database: db,
      env: { JWT_ACCESS_TTL: '3000', JWT_CLOCK_TOLERANCE_S: '0' },
    });
    try {
      const t = await issueTokens(expired.url, SEEDED_USERS.alan.email);
      // Connected while the token is valid; disconnected when it expires.
      const expiring = track(await connectSocket(expired.url, { token: t.accessToken }));
      expect(await expiring.disconnected).toBe('io server disconnect');
      expect(expiring.events('auth.revoked')).toEqual([{ reason: 'the access token expired' }]);
      const r = await refusal(expired.url, { token: t.accessToken });
      expect(r.data?.code).toBe('UNAUTHENTICATED');
      expect(r.message).toMatch(/expired/i);
    } finally {
      await expired.close();
    }
    const cookie = await logIn(a.url, SEEDED_USERS.grace.email);
    const id = await sessionIdOf(a.url, cookie);
    const other = await logIn(a.url, SEEDED_USERS.grace.email);
    expect(
      (
        await http(`${a.url}/api/me/sessions/${id}`, {
          method: 'DELETE',
          headers: { cookie: other },
        })
      ).status,
    ).toBe(204);
    expect(await refusal(b.url, { cookie })).toMatchObject({ data: { code: 'UNAUTHENTICATED' } });
  });

  it('disconnects the open socket when its session logs out (on another instance)', async () => {
    const cookie = await logIn(a.url, SEEDED_USERS.alan.email);
    const onB = track(await connectSocket(b.url, { cookie }));
    const out = await http(`${a.url}/api/logout`, { method: 'POST', headers: { cookie } });
    expect(out.status).toBeLessThan(300);
    expect(await onB.disconnected).toBe('io server disconnect');
    expect(onB.events('auth.revoked')).toEqual([{ reason: 'the session ended' }]);
  });

  it('disconnects a session’s socket when that session is revoked from another instance, and only it', async () => {
    const target = await logIn(a.url, SEEDED_USERS.grace.email);
    const keeper = await logIn(a.url, SEEDED_USERS.grace.email);
    const revoked = track(await connectSocket(a.url, { cookie: target }));
    const kept = track(await connectSocket(a.url, { cookie: keeper }));
    const id = await sessionIdOf(a.url, target);
    const res = await http(`${b.url}/api/me/sessions/${id}`, {
      method: 'DELETE',
      headers: { cookie: keeper },
    });
    expect(res.status).toBe(204);
    expect(await revoked.disconnected).toBe('io server disconnect');
    const ping = (await kept.socket.emitWithAck('ping')) as { pong: boolean };
    expect(ping.pong).toBe(true);
    expect(kept.socket.connected).toBe(true);
  });

  it('disconnects a token’s socket when the user logs out everywhere', async () => {
    const t = await issueTokens(a.url, SEEDED_USERS.grace.email);
    const onB = track(await connectSocket(b.url, { token: t.accessToken }));
    const res = await http(`${a.url}/api/auth/logout-all`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.accessToken}` },
    });
    expect(res.status).toBeLessThan(300);
    expect(await onB.disconnected).toBe('io server disconnect');
    expect(onB.events('auth.revoked')).toEqual([{ reason: 'logged out everywhere' }]);
  });
});
