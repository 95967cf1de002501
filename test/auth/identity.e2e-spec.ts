import { AuthService, UnauthenticatedError } from '../../src/auth';
import { createTestApp, eventually, http, PLATFORMS, TestApp, testPrefix } from '../support/app';
import { TestRedis } from '../support/redis';
import { usePrivateRedisApp } from '../support/private-redis';

/**
 * Password guessing, the one identity step before rate limiting and caching, and the failure
 * policy (fail closed) with Redis stopped — on both platforms.
 */
const PASSWORD = 'redis-patterns-dev';

const tokenFor = async (t: TestApp, email: string) =>
  (
    await http(`${t.url}/api/auth/token`, {
      method: 'POST',
      body: { email, password: PASSWORD },
    })
  ).body as { accessToken: string; refreshToken: string };

describe.each(PLATFORMS)('password guessing on %s', (platform) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      platform,
      prefix: testPrefix(__filename),
      env: { AUTH_LOGIN_LIMIT: '3/60s', AUTH_LOGIN_CLIENT_LIMIT: '8/60s' },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  const attempt = (email: string, password: string, path = '/api/login') =>
    http(`${t.url}${path}`, { method: 'POST', body: { email, password } });

  it('an unknown email and a wrong password get the very same answer', async () => {
    const unknown = await attempt('nobody@example.com', 'wrong-password-1');
    const wrong = await attempt('grace@example.com', 'wrong-password-1');
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
    expect(unknown.body.message).toBe('Invalid email or password');
  });

  it('after 3 failed logins an account answers 429 with Retry-After, even to the right password', async () => {
    for (let i = 0; i < 3; i++)
      expect((await attempt('alan@example.com', `guess-${i}-xyz`)).status).toBe(401);
    const limited = await attempt('alan@example.com', PASSWORD);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.body).toMatchObject({
      statusCode: 429,
      message: expect.stringMatching(/failed logins/),
    });
    // The token endpoint shares the account's budget.
    expect((await attempt('alan@example.com', PASSWORD, '/api/auth/token')).status).toBe(429);
    // Another account is not affected.
    expect((await attempt('ada@example.com', PASSWORD)).status).toBe(200);
  });

  it('a client failing across many accounts is limited too', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++)
      statuses.push((await attempt(`spray-${i}@example.com`, 'password-spray')).status);
    expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
    expect(statuses.at(-1)).toBe(429);
  });
});

describe.each(PLATFORMS)('the identity step on %s', (platform) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      platform,
      prefix: testPrefix(__filename),
      env: { RATE_LIMIT: '3/60s' },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('runs before rate limiting: two users behind one address have a budget each', async () => {
    // Login itself is rate limited too: get the tokens first, within the budget.
    const ada = await tokenFor(t, 'ada@example.com');
    const alan = await tokenFor(t, 'alan@example.com');
    const as = (token: string) =>
      http(`${t.url}/api/users/3`, { headers: { authorization: `Bearer ${token}` } });
    const adaStatuses = [];
    for (let i = 0; i < 4; i++) adaStatuses.push((await as(ada.accessToken)).status);
    expect(adaStatuses).toEqual([200, 200, 200, 429]);
    expect((await as(alan.accessToken)).status).toBe(200);
  });
});

describe('a WebSocket handshake (AuthService.authenticateHandshake)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ prefix: testPrefix(__filename) });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('accepts an access token or a session cookie, refuses anything else with 401', async () => {
    const auth = t.app.get(AuthService);
    const { accessToken } = await tokenFor(t, 'alan@example.com');
    await expect(auth.authenticateHandshake({ token: accessToken })).resolves.toMatchObject({
      id: 2,
      via: 'token',
    });
    const login = await http(`${t.url}/api/login`, {
      method: 'POST',
      body: { email: 'grace@example.com', password: PASSWORD },
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    await expect(auth.authenticateHandshake({ cookie })).resolves.toMatchObject({
      id: 3,
      via: 'session',
    });
    await expect(auth.authenticateHandshake({})).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(auth.authenticateHandshake({ token: 'x.y.z' })).rejects.toBeInstanceOf(
      UnauthenticatedError,
    );
    await expect(
      auth.authenticateHandshake({ cookie: 'sid=forged.cookie' }),
    ).rejects.toBeInstanceOf(UnauthenticatedError);
  });
});

describe.each(PLATFORMS)('auth with Redis stopped on %s (fail closed)', (platform) => {
  const fixture = usePrivateRedisApp(__filename, platform);
  let redis: TestRedis;
  let t: TestApp;
  beforeAll(() => {
    redis = fixture.redis();
    t = fixture.app();
  });

  it('protected routes answer 503, public routes 200; both recover without a restart', async () => {
    const token = await tokenFor(t, 'ada@example.com');
    const login = await http(`${t.url}/api/login`, {
      method: 'POST',
      body: { email: 'ada@example.com', password: PASSWORD },
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    const bearer = { authorization: `Bearer ${token.accessToken}` };
    expect((await http(`${t.url}/api/me`, { headers: bearer })).status).toBe(200);

    await redis.stop();
    const viaToken = await eventually(
      () => http(`${t.url}/api/me`, { headers: bearer }),
      (r) => r.status === 503,
    );
    expect(viaToken.status).toBe(503);
    expect(viaToken.body).toMatchObject({
      statusCode: 503,
      message: expect.stringMatching(/cannot be checked/),
    });
    expect((await http(`${t.url}/api/me`, { headers: { cookie } })).status).toBe(503);
    // Public routes keep working, with or without credentials (anonymous when unchecked).
    expect((await http(`${t.url}/api/users/1`)).status).toBe(200);
    expect((await http(`${t.url}/api/users/1`, { headers: bearer })).status).toBe(200);
    // No session or token can be issued meanwhile.
    const noLogin = await http(`${t.url}/api/auth/token`, {
      method: 'POST',
      body: { email: 'ada@example.com', password: PASSWORD },
    });
    expect(noLogin.status).toBe(503);

    await redis.restart(); // without persistence: sessions and refresh families are gone
    const back = await eventually(
      () => http(`${t.url}/api/me`, { headers: bearer }),
      (r) => r.status === 200,
    );
    expect(back.status).toBe(200); // the access token itself still proves who it is
    expect((await http(`${t.url}/api/me`, { headers: { cookie } })).status).toBe(401); // session lost
    const again = await tokenFor(t, 'ada@example.com');
    expect(
      (await http(`${t.url}/api/me`, { headers: { authorization: `Bearer ${again.accessToken}` } }))
        .status,
    ).toBe(200);
  });
});
