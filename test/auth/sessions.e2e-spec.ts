import { getRedisToken, RedisClient, scanKeys } from '../../src/redis';
import { SessionStore } from '../../src/session';
import { createTestApp, http, PLATFORMS, TestApp, testPrefix } from '../support/app';

/** Session login, me, logout and session management over HTTP, on both platforms. */
const PASSWORD = 'redis-patterns-dev';

async function login(
  t: TestApp,
  email = 'ada@example.com',
  headers: Record<string, string> = {},
): Promise<{ cookie: string; setCookie: string; status: number }> {
  const res = await http(`${t.url}/api/login`, {
    method: 'POST',
    body: { email, password: PASSWORD },
    headers,
  });
  const setCookie = res.headers.get('set-cookie') ?? '';
  return { cookie: setCookie.split(';')[0], setCookie, status: res.status };
}

const me = (t: TestApp, cookie: string) => http(`${t.url}/api/me`, { headers: { cookie } });

async function allKeys(client: RedisClient, match: string): Promise<string[]> {
  const seen = new Set<string>();
  for await (const batch of scanKeys(client, { match })) for (const k of batch) seen.add(k);
  return [...seen];
}

describe.each(PLATFORMS)('sessions on %s', (platform) => {
  const prefix = testPrefix(__filename);
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    // Two instances of one fleet (same Redis prefix): a revocation on one is seen by the other.
    a = await createTestApp({ platform, prefix });
    b = await createTestApp({ platform, prefix });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('login sets an HttpOnly, SameSite=Strict, Path=/ cookie with a signed 256-bit id; /api/me answers the user', async () => {
    const { status, setCookie, cookie } = await login(a);
    expect(status).toBe(200);
    expect(setCookie).toMatch(/^sid=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}; /);
    expect(setCookie).toMatch(/; Path=\//);
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; SameSite=Strict/);
    expect(setCookie).not.toMatch(/; Secure/); // development (Secure in production)
    const res = await me(a, cookie);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      userId: 1,
      email: 'ada@example.com',
      roles: ['admin'],
      via: 'session',
    });
  });

  it('Redis never holds a usable cookie value: the key is a hash of the id', async () => {
    const { cookie } = await login(a, 'alan@example.com');
    const sid = cookie.split('=')[1].split('.')[0];
    const state = a.app.get<RedisClient>(getRedisToken('state'));
    const keys = await allKeys(state, `${prefix}:sess:*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) {
      expect(k).not.toContain(sid);
      const type = await state.type(k);
      const values =
        type === 'hash' ? Object.values(await state.hgetall(k)) : await state.zrange(k, '0', '-1');
      for (const v of values) expect(v).not.toContain(sid);
    }
  });

  it('login always issues a new id, and the session the request carried ends (fixation)', async () => {
    const first = await login(a);
    const second = await login(a, 'ada@example.com', { cookie: first.cookie });
    expect(second.cookie).not.toBe(first.cookie);
    expect((await me(a, first.cookie)).status).toBe(401);
    expect((await me(a, second.cookie)).status).toBe(200);
  });

  it('an unknown or forged cookie never becomes a session', async () => {
    const forged = `sid=${'A'.repeat(43)}.${'B'.repeat(43)}`;
    expect((await me(a, forged)).status).toBe(401);
    const { cookie } = await login(a, 'ada@example.com', { cookie: forged });
    expect(cookie).not.toBe(forged);
    const real = await login(a);
    const [id, sig] = real.cookie.split('=')[1].split('.');
    const tampered = `sid=${id}.${sig.slice(0, -2)}${sig.endsWith('AA') ? 'BB' : 'AA'}`;
    expect((await me(a, tampered)).status).toBe(401);
    const otherId = `sid=${'C'.repeat(43)}.${sig}`;
    expect((await me(a, otherId)).status).toBe(401);
  });

  it('logout ends the session and clears the cookie; replaying the old cookie → 401', async () => {
    const { cookie } = await login(a);
    const out = await http(`${a.url}/api/logout`, { method: 'POST', headers: { cookie } });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^sid=; .*Max-Age=0/);
    expect((await me(a, cookie)).status).toBe(401);
    expect((await me(b, cookie)).status).toBe(401);
  });

  it('POST /api/auth/logout with a session cookie ends that session too', async () => {
    const { cookie } = await login(a, 'alan@example.com');
    const out = await http(`${a.url}/api/auth/logout`, { method: 'POST', headers: { cookie } });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^sid=; /);
    expect((await me(b, cookie)).status).toBe(401);
  });

  it('lists my sessions with the current one marked, on another instance', async () => {
    const s1 = await login(a, 'grace@example.com', { 'user-agent': 'laptop' });
    const s2 = await login(b, 'grace@example.com', { 'user-agent': 'phone' });
    const list = await http(`${b.url}/api/me/sessions`, { headers: { cookie: s2.cookie } });
    expect(list.status).toBe(200);
    const mine = (list.body as { userAgent: string; current: boolean; id: string }[]).filter((s) =>
      ['laptop', 'phone'].includes(s.userAgent),
    );
    expect(mine.map((s) => [s.userAgent, s.current]).sort()).toEqual([
      ['laptop', false],
      ['phone', true],
    ]);
    for (const s of list.body) {
      expect(s).toEqual({
        id: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        createdAt: expect.any(String),
        lastSeenAt: expect.any(String),
        expiresAt: expect.any(String),
        userAgent: expect.anything(),
        ip: expect.any(String),
        current: expect.any(Boolean),
      });
    }
    expect((await me(a, s1.cookie)).status).toBe(200);
  });

  it('revoking one session on one instance refuses it on the other at once; others are untouched', async () => {
    const laptop = await login(a, 'alan@example.com', { 'user-agent': 'laptop' });
    const phone = await login(b, 'alan@example.com', { 'user-agent': 'phone' });
    const list = await http(`${b.url}/api/me/sessions`, { headers: { cookie: phone.cookie } });
    const target = (list.body as { id: string; userAgent: string }[]).find(
      (s) => s.userAgent === 'laptop',
    )!;
    const del = await http(`${b.url}/api/me/sessions/${target.id}`, {
      method: 'DELETE',
      headers: { cookie: phone.cookie },
    });
    expect(del.status).toBe(204);
    expect((await me(a, laptop.cookie)).status).toBe(401); // the other instance, at once
    expect((await me(a, phone.cookie)).status).toBe(200);
  });

  it('a session of another user cannot be revoked: 404', async () => {
    const ada = await login(a, 'ada@example.com');
    const alan = await login(a, 'alan@example.com');
    const adas = await http(`${a.url}/api/me/sessions`, { headers: { cookie: ada.cookie } });
    const adaSession = (adas.body as { id: string; current: boolean }[]).find((s) => s.current)!;
    const res = await http(`${a.url}/api/me/sessions/${adaSession.id}`, {
      method: 'DELETE',
      headers: { cookie: alan.cookie },
    });
    expect(res.status).toBe(404);
    expect((await me(a, ada.cookie)).status).toBe(200);
  });

  it('revoke-others keeps only this session, on every instance', async () => {
    const keep = await login(a, 'grace@example.com');
    const other1 = await login(b, 'grace@example.com');
    const other2 = await login(a, 'grace@example.com');
    const res = await http(`${b.url}/api/me/sessions/revoke-others`, {
      method: 'POST',
      headers: { cookie: keep.cookie },
    });
    expect(res.status).toBe(200);
    expect(res.body.revoked).toBeGreaterThanOrEqual(2);
    expect((await me(a, other1.cookie)).status).toBe(401);
    expect((await me(b, other2.cookie)).status).toBe(401);
    expect((await me(a, keep.cookie)).status).toBe(200);
    const left = await http(`${a.url}/api/me/sessions`, { headers: { cookie: keep.cookie } });
    expect(left.body).toHaveLength(1);
  });

  it('nothing is stored for a visitor who never logs in', async () => {
    const state = a.app.get<RedisClient>(getRedisToken('state'));
    const before = (await allKeys(state, `${prefix}:sess:*`)).length;
    for (let i = 0; i < 5; i++) await http(`${a.url}/api/users/1`);
    expect((await allKeys(state, `${prefix}:sess:*`)).length).toBe(before);
  });
});

describe('session timeouts and keys', () => {
  const apps: TestApp[] = [];
  const start = async (env: Record<string, string>, prefix = testPrefix(__filename)) => {
    const t = await createTestApp({ prefix, env });
    apps.push(t);
    return t;
  };
  afterAll(async () => {
    await Promise.all(apps.map((t) => t.close()));
  });

  it('a session idle longer than SESSION_IDLE_MS ends', async () => {
    const t = await start({ SESSION_IDLE_MS: '1500', SESSION_TOUCH_MS: '0' });
    const { cookie } = await login(t);
    expect((await me(t, cookie)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2500)); // not used meanwhile (a use would touch it)
    expect((await me(t, cookie)).status).toBe(401);
  });

  it('activity keeps it alive until the absolute lifetime ends it', async () => {
    const t = await start({
      SESSION_IDLE_MS: '60000',
      SESSION_TOUCH_MS: '0',
      SESSION_ABSOLUTE_MS: '2000',
    });
    const { cookie } = await login(t);
    const statuses: number[] = [];
    while (statuses.length < 100 && statuses.at(-1) !== 401) {
      statuses.push((await me(t, cookie)).status);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(statuses[0]).toBe(200);
    expect(statuses.at(-1)).toBe(401);
  });

  it('the idle deadline is pushed back at most once per SESSION_TOUCH_MS, not on every request', async () => {
    const throttled = await start({ SESSION_TOUCH_MS: '3600000' });
    const eager = await start({ SESSION_TOUCH_MS: '0' });
    for (const [t, touches] of [
      [throttled, false],
      [eager, true],
    ] as const) {
      const { cookie } = await login(t);
      const store = t.app.get(SessionStore);
      const state = t.app.get<RedisClient>(getRedisToken('state'));
      const [rec] = (await store.list(1)).filter((s) => s.createdAt > 0).slice(-1);
      const key = store.key(rec.id);
      const seen0 = Number(await state.hget(key, 's'));
      await new Promise((r) => setTimeout(r, 20));
      for (let i = 0; i < 3; i++) expect((await me(t, cookie)).status).toBe(200);
      const seen1 = Number(await state.hget(key, 's'));
      if (touches) expect(seen1).toBeGreaterThan(seen0);
      else expect(seen1).toBe(seen0);
    }
  });

  it('rotated secrets: the first signs, the others still verify; a retired secret fails', async () => {
    const prefix = testPrefix(__filename);
    const k1 = 'first-secret-aaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    const k2 = 'second-secret-bbbbbbbbbbbbbbbbbbbbbbbbbbb';
    const old = await start({ SESSION_SECRET: k1 }, prefix);
    const rotated = await start({ SESSION_SECRET: `${k2},${k1}` }, prefix);
    const retired = await start({ SESSION_SECRET: k2 }, prefix);
    const { cookie } = await login(old);
    expect((await me(rotated, cookie)).status).toBe(200);
    expect((await me(retired, cookie)).status).toBe(401);
    const fresh = await login(rotated); // signed with k2
    expect((await me(retired, fresh.cookie)).status).toBe(200);
    expect((await me(old, fresh.cookie)).status).toBe(401);
  }, 180_000); // several apps started one after another: minutes on a loaded machine

  it('cookie name, SameSite and Secure are configurable', async () => {
    const t = await start({
      SESSION_COOKIE_NAME: 'app_session',
      SESSION_SAME_SITE: 'lax',
      SESSION_SECURE_COOKIE: 'true',
    });
    const res = await http(`${t.url}/api/login`, {
      method: 'POST',
      body: { email: 'ada@example.com', password: PASSWORD },
    });
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^app_session=/);
    expect(setCookie).toMatch(/; SameSite=Lax/);
    expect(setCookie).toMatch(/; Secure/);
  });
});
