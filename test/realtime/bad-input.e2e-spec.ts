import { http } from '../support/app';
import { describeOnPlatforms } from '../support/platforms';
import { issueTokens, SEEDED_USERS } from '../support/credentials';
import { connectSocket, refusal, TestSocket } from '../support/sockets';

/** Every kind of bad input on the socket and on POST /api/notify: an error, never a crash or a 5xx. */
describeOnPlatforms(
  'realtime bad input',
  { role: 'api', env: { REALTIME_MAX_PAYLOAD_BYTES: '2048' } },
  (t) => {
    let token: string;
    const open: TestSocket[] = [];
    const connect = async () => {
      const s = await connectSocket(t.url, { token });
      open.push(s);
      return s;
    };
    beforeAll(async () => {
      token = (await issueTokens(t.url, SEEDED_USERS.alan.email)).accessToken;
    });
    afterEach(() => {
      for (const s of open.splice(0)) s.close();
    });

    /** The app still serves HTTP and accepts and answers a new socket. */
    async function stillServing(): Promise<void> {
      expect((await http(`${t.url}/health/live`)).status).toBe(200);
      const s = await connect();
      expect(await s.socket.timeout(5_000).emitWithAck('ping')).toMatchObject({ pong: true });
    }

    it('answers an unknown event with an exception event and keeps the socket', async () => {
      const s = await connect();
      s.socket.emit('drop.tables', { x: 1 });
      s.socket.emit('x'.repeat(500));
      const got = await new Promise<unknown>((resolve) => s.socket.once('exception', resolve));
      expect(got).toMatchObject({
        code: 'UNKNOWN_EVENT',
        message: expect.stringMatching(/Unknown event "drop.tables"/),
      });
      expect(
        await s.socket.timeout(5_000).emitWithAck('ping', 'extra', { args: true }),
      ).toMatchObject({ pong: true });
      expect(s.socket.connected).toBe(true);
    });

    it('closes the connection of an oversized message (REALTIME_MAX_PAYLOAD_BYTES) and serves on', async () => {
      const s = await connect();
      s.socket.emit('ping', 'x'.repeat(10_000));
      expect(await s.disconnected).toMatch(/transport (close|error)/);
      await stillServing();
    });

    it.each([
      ['broken JSON', '2["ping",'],
      ['an unknown packet type', '9["ping"]'],
      ['a non-array payload', '2"ping"'],
      ['an event name that is an object', '2[{"a":1}]'],
    ])(
      'disconnects a client that sends a malformed frame (%s) and serves on',
      async (_what, frame) => {
        const s = await connect();
        // Below socket.io's encoder: the raw engine.io message, as a broken client would send it.
        (s.socket.io.engine as unknown as { write(m: string): void }).write(frame);
        expect(await s.disconnected).toMatch(/server disconnect|transport close|parse error/);
        await stillServing();
      },
    );

    it('refuses a handshake whose auth.token is not a string', async () => {
      const r = await refusal(t.url, { token: 42 as unknown as string });
      expect(r.data?.code).toBe('UNAUTHENTICATED');
      expect(r.message).toMatch(/auth.token/);
    });

    it.each([
      ['no body', undefined, 400],
      ['userId missing', { message: 'hi' }, 400],
      ['userId a string', { userId: '2', message: 'hi' }, 400],
      ['userId negative', { userId: -1, message: 'hi' }, 400],
      ['userId too big', { userId: 2 ** 40, message: 'hi' }, 400],
      ['message missing', { userId: 2 }, 400],
      ['message empty', { userId: 2, message: '' }, 400],
      ['message blank', { userId: 2, message: '   ' }, 400],
      ['message too long', { userId: 2, message: 'x'.repeat(1001) }, 400],
      ['message with NUL', { userId: 2, message: 'a\u0000b' }, 400],
      ['message not a string', { userId: 2, message: { a: 1 } }, 400],
      ['id with spaces', { userId: 2, message: 'hi', id: 'a b' }, 400],
      ['id null', { userId: 2, message: 'hi', id: null }, 400],
    ])('POST /api/notify with %s → %i JSON', async (_what, body, status) => {
      const res = await http(`${t.url}/api/notify`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        ...(body === undefined ? {} : { body }),
      });
      expect(res.status).toBe(status);
      expect(res.body).toMatchObject({ statusCode: status, message: expect.anything() });
    });

    it('POST /api/notify: malformed JSON → 400, anonymous → 401', async () => {
      const bad = await http(`${t.url}/api/notify`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        raw: '{"userId": 2, "message": ',
      });
      expect(bad.status).toBe(400);
      const anonymous = await http(`${t.url}/api/notify`, {
        method: 'POST',
        body: { userId: SEEDED_USERS.alan.id, message: 'hi' },
      });
      expect(anonymous.status).toBe(401);
    });
  },
);
