import { Controller, Get, Module } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { Roles } from '../../src/auth';
import { createHmac, randomBytes } from 'node:crypto';
import { createTestApp, http, PLATFORMS, TestApp, testPrefix } from '../support/app';

/** A route only admins may call (the reference app has none yet). */
@Controller('test')
class AdminOnlyController {
  @Get('admin-only')
  @Roles('admin')
  ok() {
    return { ok: true };
  }
}
@Module({ controllers: [AdminOnlyController] })
class AdminOnlyModule {}

/** JWT access tokens, revocation and refresh-token rotation over HTTP, on both platforms. */
const PASSWORD = 'redis-patterns-dev';

interface Pair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  tokenType: string;
}

async function tokenFor(t: TestApp, email = 'ada@example.com'): Promise<Pair> {
  const res = await http(`${t.url}/api/auth/token`, {
    method: 'POST',
    body: { email, password: PASSWORD },
  });
  expect(res.status).toBe(200);
  return res.body as Pair;
}

const me = (t: TestApp, token: string) =>
  http(`${t.url}/api/me`, { headers: { authorization: `Bearer ${token}` } });

const refresh = (t: TestApp, refreshToken: string) =>
  http(`${t.url}/api/auth/refresh`, { method: 'POST', body: { refreshToken } });

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe.each(PLATFORMS)('access and refresh tokens on %s', (platform) => {
  let t: TestApp;
  let secret: string;
  let claims: () => Record<string, unknown>;
  /** Signs like the app does, with any changes. */
  let sign: (payload: Record<string, unknown>, options?: Record<string, unknown>) => string;

  beforeAll(async () => {
    t = await createTestApp({
      platform,
      prefix: testPrefix(__filename),
      extraModules: [AdminOnlyModule],
    });
    secret = t.config.secrets.jwtSecret;
    const { issuer, audience } = t.config.auth;
    const now = Math.floor(Date.now() / 1000);
    claims = () => ({
      sub: '1',
      email: 'ada@example.com',
      roles: ['admin'],
      ims: Date.now(),
      jti: randomBytes(16).toString('base64url'),
      iss: issuer,
      aud: audience,
      iat: now,
      nbf: now,
      exp: now + 600,
    });
    const jwt = new JwtService({ secret });
    sign = (payload, options = {}) =>
      jwt.sign(payload, { algorithm: 'HS256', ...options } as never);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a token pair authenticates: GET /api/me via the token', async () => {
    const pair = await tokenFor(t);
    expect(pair).toEqual({
      accessToken: expect.stringMatching(/^ey[\w-]+\.[\w-]+\.[\w-]+$/),
      refreshToken: expect.stringMatching(/^1\.[\w-]{22}\.[\w-]{43}$/),
      tokenType: 'Bearer',
      expiresIn: 900,
    });
    const header = JSON.parse(Buffer.from(pair.accessToken.split('.')[0], 'base64url').toString());
    expect(header.alg).toBe('HS256');
    const res = await me(t, pair.accessToken);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      userId: 1,
      email: 'ada@example.com',
      roles: ['admin'],
      via: 'token',
    });
  });

  it('a token made like ours is accepted (the forgeries below differ in one thing only)', async () => {
    expect((await me(t, sign(claims()))).status).toBe(200);
  });

  describe('refuses with 401 and WWW-Authenticate: Bearer error="invalid_token"', () => {
    const forgeries: [string, () => string][] = [
      ['alg none', () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`],
      ['HS512 with the right secret', () => sign(claims(), { algorithm: 'HS512' })],
      [
        'an RS256 header signed with the HS secret (algorithm confusion)',
        () => {
          const body = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims())}`;
          return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
        },
      ],
      [
        'a wrong secret',
        () =>
          new JwtService({ secret: 'another-secret-cccccccccccccccccccccccccc' }).sign(claims(), {
            algorithm: 'HS256',
          }),
      ],
      ['a wrong audience', () => sign({ ...claims(), aud: 'someone-else' })],
      ['a wrong issuer', () => sign({ ...claims(), iss: 'someone-else' })],
      [
        'an expired token',
        () => sign({ ...claims(), iat: 1_600_000_000, nbf: 1_600_000_000, exp: 1_600_000_600 }),
      ],
      [
        'a token not valid before an hour from now',
        () => sign({ ...claims(), nbf: Math.floor(Date.now() / 1000) + 3600 }),
      ],
      [
        'no jti',
        () => {
          const c = claims();
          delete c.jti;
          return sign(c);
        },
      ],
      [
        'a tampered payload',
        () => {
          const [h, , s] = sign(claims()).split('.');
          return `${h}.${b64({ ...claims(), sub: '2' })}.${s}`;
        },
      ],
    ];
    it.each(forgeries)('%s', async (_what, make) => {
      const res = await me(t, make());
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(
        /^Bearer realm="api", error="invalid_token"/,
      );
      expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    });
  });

  it('a revoked token (logout) is refused until it expires; its refresh family dies with it', async () => {
    const pair = await tokenFor(t, 'alan@example.com');
    const out = await http(`${t.url}/api/auth/logout`, {
      method: 'POST',
      headers: { authorization: `Bearer ${pair.accessToken}` },
    });
    expect(out.status).toBe(204);
    const res = await me(t, pair.accessToken);
    expect(res.status).toBe(401);
    expect(res.body.message).toMatch(/revoked/);
    expect((await refresh(t, pair.refreshToken)).status).toBe(401);
  });

  it('logout-all refuses every token issued before it, and none issued after', async () => {
    const before1 = await tokenFor(t, 'grace@example.com');
    const before2 = await tokenFor(t, 'grace@example.com');
    const session = await http(`${t.url}/api/login`, {
      method: 'POST',
      body: { email: 'grace@example.com', password: PASSWORD },
    });
    const cookie = (session.headers.get('set-cookie') ?? '').split(';')[0];
    const all = await http(`${t.url}/api/auth/logout-all`, {
      method: 'POST',
      headers: { authorization: `Bearer ${before1.accessToken}` },
    });
    expect(all.status).toBe(204);
    expect((await me(t, before1.accessToken)).status).toBe(401);
    expect((await me(t, before2.accessToken)).status).toBe(401);
    expect((await refresh(t, before2.refreshToken)).status).toBe(401);
    expect((await http(`${t.url}/api/me`, { headers: { cookie } })).status).toBe(401);
    const after = await tokenFor(t, 'grace@example.com'); // the same millisecond range is fine
    expect((await me(t, after.accessToken)).status).toBe(200);
    expect((await refresh(t, after.refreshToken)).status).toBe(200);
  });

  it('refresh rotates: a new pair, and the new refresh token works once more', async () => {
    const p1 = await tokenFor(t);
    const r1 = await refresh(t, p1.refreshToken);
    expect(r1.status).toBe(200);
    expect(r1.body.refreshToken).not.toBe(p1.refreshToken);
    expect((await me(t, r1.body.accessToken)).status).toBe(200);
    const r2 = await refresh(t, r1.body.refreshToken);
    expect(r2.status).toBe(200);
  });

  it('reusing an old refresh token revokes its whole family (RFC 9700)', async () => {
    const a = await tokenFor(t);
    const b = (await refresh(t, a.refreshToken)).body as Pair;
    const c = (await refresh(t, b.refreshToken)).body as Pair;
    const reuse = await refresh(t, a.refreshToken); // two rotations old: stolen and replayed
    expect(reuse.status).toBe(401);
    expect(reuse.body.message).toMatch(/already used.*revoked/);
    expect((await refresh(t, c.refreshToken)).status).toBe(401); // the family is dead
  });

  it('two concurrent refreshes of one token: exactly one wins, and the winner’s token lives on', async () => {
    const p = await tokenFor(t);
    const [x, y] = await Promise.all([refresh(t, p.refreshToken), refresh(t, p.refreshToken)]);
    expect([x.status, y.status].sort()).toEqual([200, 401]);
    const winner = (x.status === 200 ? x : y).body as Pair;
    expect((await refresh(t, winner.refreshToken)).status).toBe(200);
  });

  it('refresh tokens that are not ours are refused', async () => {
    for (const bad of [
      'garbage',
      `1.${'A'.repeat(22)}.${'B'.repeat(43)}`,
      `999999.${'A'.repeat(22)}.${'B'.repeat(43)}`,
    ]) {
      expect((await refresh(t, bad)).status).toBe(401);
    }
  });

  it('@Roles: the admin passes, a user without the role gets 403, anonymous 401', async () => {
    const admin = await tokenFor(t, 'ada@example.com');
    const user = await tokenFor(t, 'alan@example.com');
    const get = (token?: string) =>
      http(`${t.url}/test/admin-only`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
    expect((await get(admin.accessToken)).status).toBe(200);
    const forbidden = await get(user.accessToken);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toMatchObject({ statusCode: 403, error: 'Forbidden' });
    expect(forbidden.headers.get('www-authenticate')).toMatch(/insufficient_scope/);
    expect((await get()).status).toBe(401);
  });
});
