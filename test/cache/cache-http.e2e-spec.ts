import { CacheService } from '../../src/cache';
import { Database } from '../../src/database';
import {
  createTestApp,
  eventually,
  http,
  PLATFORMS,
  TestApp,
  testPrefix,
  openSharedTestDatabase,
} from '../support/app';
import { describeOnPlatforms } from '../support/platforms';
import { usePrivateRedisApp } from '../support/private-redis';

async function loads(url: string, cache = 'users'): Promise<number> {
  const text = (await http(`${url}/metrics`)).text;
  const m = new RegExp(`^cache_loads_total\\{cache="${cache}"\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

async function newUser(url: string, tag: string): Promise<number> {
  const res = await http(`${url}/api/users`, {
    method: 'POST',
    body: {
      email: `${tag}-${Date.now()}-${Math.random()}@example.com`,
      name: tag,
      password: 'correct horse battery',
    },
  });
  expect(res.status).toBe(201);
  return res.body.id as number;
}

describeOnPlatforms('cached endpoints', (t) => {
  it('GET /api/users/:id is cache-aside: MISS, then HIT; PATCH evicts so the next read is fresh', async () => {
    const id = await newUser(t.url, 'aside');
    const first = await http(`${t.url}/api/users/${id}`);
    expect(first.headers.get('x-cache')).toBe('MISS');
    const second = await http(`${t.url}/api/users/${id}`);
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(second.body).toEqual(first.body);

    const patched = await http(`${t.url}/api/users/${id}`, {
      method: 'PATCH',
      body: { name: 'Renamed' },
    });
    expect(patched.status).toBe(200);
    const third = await http(`${t.url}/api/users/${id}`);
    expect(third.headers.get('x-cache')).toBe('MISS');
    expect(third.body.name).toBe('Renamed');
  });

  it('500 concurrent requests for one cold key run the loader once', async () => {
    const id = await newUser(t.url, 'burst');
    const before = await loads(t.url);
    const responses = await Promise.all(
      Array.from({ length: 500 }, () => http(`${t.url}/api/users/${id}`)),
    );
    expect(responses.every((r) => r.status === 200 && r.body.id === id)).toBe(true);
    expect((await loads(t.url)) - before).toBe(1);
  });

  it('does not cache errors: a 404 stays a 404 and is not stored', async () => {
    expect((await http(`${t.url}/api/users/777777`)).status).toBe(404);
    const again = await http(`${t.url}/api/users/777777`);
    expect(again.status).toBe(404);
    expect(again.headers.get('x-cache')).toBeNull();
  });

  it("an endpoint declared shared is not split by the caller's credentials", async () => {
    const id = await newUser(t.url, 'scoped');
    await http(`${t.url}/api/users/${id}`);
    // The users endpoint is declared shared, so credentials do not split it:
    expect(
      (
        await http(`${t.url}/api/users/${id}`, { headers: { authorization: 'Bearer a' } })
      ).headers.get('x-cache'),
    ).toBe('HIT');
  });

  it('POST /api/posts writes through to the recent-posts list and the stats hash, which rebuild when missing', async () => {
    const id = await newUser(t.url, 'writer');
    expect((await http(`${t.url}/api/users/${id}/stats`)).body).toEqual({ postCount: 0 });
    const p1 = await http(`${t.url}/api/posts`, {
      method: 'POST',
      body: { userId: id, title: 'one', content: '1' },
    });
    expect(p1.status).toBe(201);
    // The list did not exist yet: it is rebuilt from the database on read.
    expect(
      (await http(`${t.url}/api/users/${id}/posts`)).body.map((p: { id: number }) => p.id),
    ).toEqual([p1.body.id]);
    const p2 = await http(`${t.url}/api/posts`, {
      method: 'POST',
      body: { userId: id, title: 'two', content: '2' },
    });
    expect(
      (await http(`${t.url}/api/users/${id}/posts`)).body.map((p: { id: number }) => p.id),
    ).toEqual([p2.body.id, p1.body.id]);
    expect((await http(`${t.url}/api/users/${id}/stats`)).body).toEqual({ postCount: 2 });
    expect((await http(`${t.url}/api/users/424242/posts`)).status).toBe(404);
    expect((await http(`${t.url}/api/users/abc/stats`)).status).toBe(400);
  });

  it('keeps only the 50 newest posts in the list', async () => {
    const id = await newUser(t.url, 'prolific');
    await http(`${t.url}/api/users/${id}/posts`);
    await http(`${t.url}/api/posts`, {
      method: 'POST',
      body: { userId: id, title: 'first', content: 'x' },
    });
    await http(`${t.url}/api/users/${id}/posts`); // rebuilds the list with one post
    for (let i = 0; i < 55; i++)
      await http(`${t.url}/api/posts`, {
        method: 'POST',
        body: { userId: id, title: `p${i}`, content: 'x' },
      });
    const list = (await http(`${t.url}/api/users/${id}/posts`)).body as { title: string }[];
    expect(list).toHaveLength(50);
    expect(list[0].title).toBe('p54');
    expect((await http(`${t.url}/api/users/${id}/stats`)).body).toEqual({ postCount: 56 });
  });
});

describe('two instances with L1 on', () => {
  let db: Database;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    db = await openSharedTestDatabase();
    const prefix = testPrefix(__filename);
    const env = { CACHE_L1_MAX_ENTRIES: '1000', CACHE_L1_TTL_MS: '60000' };
    a = await createTestApp({ prefix, env, database: db });
    b = await createTestApp({ prefix, env, database: db });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.close();
  });

  it('after PATCH on instance A, instance B serves the new value on its next read', async () => {
    expect((await http(`${b.url}/api/users/3`)).body.name).toBe('Grace Hopper');
    expect((await http(`${b.url}/api/users/3`)).headers.get('x-cache')).toBe('HIT'); // from B's L1
    expect(
      (
        await http(`${a.url}/api/users/3`, {
          method: 'PATCH',
          body: { name: 'Rear Admiral Hopper' },
        })
      ).status,
    ).toBe(200);
    const next = await http(`${b.url}/api/users/3`);
    expect(next.body.name).toBe('Rear Admiral Hopper');
  });
});

describe.each(PLATFORMS)('cache with Redis stopped on %s', (platform) => {
  const fixture = usePrivateRedisApp(__filename, platform);
  let t: TestApp;
  beforeAll(() => {
    t = fixture.app();
  });

  it('fails open: cached endpoints answer 200 from the database, and hits resume after Redis returns', async () => {
    await http(`${t.url}/api/users/1`);
    expect((await http(`${t.url}/api/users/1`)).headers.get('x-cache')).toBe('HIT');

    await fixture.redis().stop();
    for (let i = 0; i < 5; i++) {
      const res = await http(`${t.url}/api/users/1`);
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(1);
      expect(res.headers.get('x-cache')).toBe('MISS');
    }
    const down = await http(`${t.url}/metrics`);
    expect(down.text).toMatch(/cache_requests_total\{cache="users",result="error"\} [1-9]/);
    expect((await http(`${t.url}/api/users/1/stats`)).status).toBe(200);
    // Evictions fail open (the write they follow has committed). PATCH itself answers 503
    // here because it runs under a lock, and locks fail closed (test/lock).
    await expect(
      t.app.get(CacheService).del('user:2', { cache: 'users' }),
    ).resolves.toBeUndefined();
    await expect(t.app.get(CacheService).invalidateTags(['any'])).resolves.toBeUndefined();
    const posted = await http(`${t.url}/api/posts`, {
      method: 'POST',
      body: { userId: 2, title: 'down', content: 'x' },
    });
    expect(posted.status).toBe(201);

    await fixture.redis().restart();
    const resumed = await eventually(
      async () => {
        await http(`${t.url}/api/users/1`);
        return (await http(`${t.url}/api/users/1`)).headers.get('x-cache');
      },
      (h) => h === 'HIT',
    );
    expect(resumed).toBe('HIT');
  });
});
