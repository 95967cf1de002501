import { performance } from 'node:perf_hooks';
import { createTestApp, eventually, http, PLATFORMS, TestApp, testPrefix } from '../support/app';
import { usePrivateRedisApp } from '../support/private-redis';
import { TestRedis } from '../support/redis';

/**
 * What the identity step's per-instance shortcuts (verified-token and verified-cookie caches,
 * coalesced revocation checks and session reads) must never break: a revocation answered on one
 * instance refuses every request that starts afterwards on any other instance, even while that
 * instance serves a burst of concurrent requests with the same credential (so its checks are
 * coalesced and its caches warm); and a frozen Redis means 503, never a cached 200.
 */
const PASSWORD = 'redis-patterns-dev';
const ROUNDS = 8;
const WORKERS = 8;

interface Sample {
  startedAt: number;
  status: number;
}

/**
 * Runs WORKERS request loops with `headers` against `t` until `stop()` resolves, then returns
 * every request's start time (performance.now) and status.
 */
async function loadWhile(
  t: TestApp,
  headers: Record<string, string>,
  stop: Promise<unknown>,
): Promise<Sample[]> {
  const samples: Sample[] = [];
  let done = false;
  void stop.finally(() => (done = true));
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      while (!done) {
        const startedAt = performance.now();
        const res = await http(`${t.url}/api/me`, { headers });
        samples.push({ startedAt, status: res.status });
      }
    }),
  );
  return samples;
}

/**
 * Loads `b` with `headers`, waits until it has answered 200 several times (caches warm, checks
 * coalescing), runs `revoke` (on the other instance), then keeps loading for a while. Every
 * request that started after `revoke` answered must be refused with 401; before it, only 200
 * or 401 are acceptable.
 */
async function revokeUnderLoad(
  b: TestApp,
  headers: Record<string, string>,
  revoke: () => Promise<void>,
): Promise<{ after: Sample[]; before: Sample[] }> {
  let release!: () => void;
  const stop = new Promise<void>((r) => (release = r));
  const load = loadWhile(b, headers, stop);
  let answeredAt = Infinity;
  try {
    // Warm: the credential is verified, cached and checked on b while requests overlap.
    const warm = await eventually(
      () => http(`${b.url}/api/me`, { headers }),
      (r) => r.status === 200,
    );
    expect(warm.status).toBe(200);
    await new Promise((r) => setTimeout(r, 30));
    await revoke();
    answeredAt = performance.now();
    // Immediately on b, and under the load that keeps going.
    expect((await http(`${b.url}/api/me`, { headers })).status).toBe(401);
    await new Promise((r) => setTimeout(r, 60));
  } finally {
    release();
  }
  const samples = await load;
  const after = samples.filter((s) => s.startedAt > answeredAt);
  const before = samples.filter((s) => s.startedAt <= answeredAt);
  return { after, before };
}

describe.each(PLATFORMS)('revocation under load across instances on %s', (platform) => {
  const prefix = testPrefix(__filename);
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await createTestApp({ platform, prefix });
    b = await createTestApp({ platform, prefix });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  const tokenPair = async () => {
    const res = await http(`${a.url}/api/auth/token`, {
      method: 'POST',
      body: { email: 'alan@example.com', password: PASSWORD },
    });
    expect(res.status).toBe(200);
    return res.body as { accessToken: string; refreshToken: string };
  };

  const check = ({ after, before }: { after: Sample[]; before: Sample[] }) => {
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((s) => s.status !== 401)).toEqual([]);
    expect(before.filter((s) => s.status !== 200 && s.status !== 401)).toEqual([]);
    return before.filter((s) => s.status === 200).length;
  };

  it(`a token logged out on A is refused on B by every request that starts afterwards (${ROUNDS} rounds)`, async () => {
    let admitted = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const { accessToken } = await tokenPair();
      const headers = { authorization: `Bearer ${accessToken}` };
      admitted += check(
        await revokeUnderLoad(b, headers, async () => {
          const res = await http(`${a.url}/api/auth/logout`, { method: 'POST', headers });
          expect(res.status).toBeLessThan(300);
        }),
      );
    }
    expect(admitted).toBeGreaterThan(0); // the load did run with a valid token first
  });

  it(`logout-all on A refuses on B every token issued before it, from the next request on (${ROUNDS} rounds)`, async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const target = await tokenPair();
      const other = await tokenPair(); // the caller of logout-all
      check(
        await revokeUnderLoad(b, { authorization: `Bearer ${target.accessToken}` }, async () => {
          const res = await http(`${a.url}/api/auth/logout-all`, {
            method: 'POST',
            headers: { authorization: `Bearer ${other.accessToken}` },
          });
          expect(res.status).toBeLessThan(300);
        }),
      );
    }
  });

  it(`a session logged out on A is refused on B by every request that starts afterwards (${ROUNDS} rounds)`, async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const login = await http(`${a.url}/api/login`, {
        method: 'POST',
        body: { email: 'alan@example.com', password: PASSWORD },
      });
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
      expect(cookie).toMatch(/^sid=/);
      check(
        await revokeUnderLoad(b, { cookie }, async () => {
          const res = await http(`${a.url}/api/logout`, { method: 'POST', headers: { cookie } });
          expect(res.status).toBeLessThan(300);
        }),
      );
    }
  });
});

describe.each(PLATFORMS)('auth with Redis frozen (SIGSTOP) on %s', (platform) => {
  const fixture = usePrivateRedisApp(__filename, platform);
  let redis: TestRedis;
  let t: TestApp;
  beforeAll(() => {
    redis = fixture.redis();
    t = fixture.app();
  });
  afterEach(() => {
    try {
      redis.thaw();
    } catch {
      // not frozen
    }
  });

  it('warm credentials answer 503, never 200, while Redis does not answer; 200 again after', async () => {
    const token = (
      await http(`${t.url}/api/auth/token`, {
        method: 'POST',
        body: { email: 'ada@example.com', password: PASSWORD },
      })
    ).body as { accessToken: string };
    const login = await http(`${t.url}/api/login`, {
      method: 'POST',
      body: { email: 'ada@example.com', password: PASSWORD },
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    const bearer = { authorization: `Bearer ${token.accessToken}` };
    // Warm both caches, with overlapping requests.
    for (const headers of [bearer, { cookie }]) {
      const warm = await Promise.all(
        Array.from({ length: 10 }, () => http(`${t.url}/api/me`, { headers })),
      );
      expect(warm.map((r) => r.status)).toEqual(Array(10).fill(200));
    }

    redis.freeze();
    // Concurrent requests with one credential share checks: all of them fail closed.
    for (const headers of [bearer, { cookie }]) {
      const frozen = await Promise.all(
        Array.from({ length: 10 }, () => http(`${t.url}/api/me`, { headers })),
      );
      expect(frozen.map((r) => r.status)).toEqual(Array(10).fill(503));
    }
    redis.thaw();

    for (const headers of [bearer, { cookie }]) {
      const back = await eventually(
        () => http(`${t.url}/api/me`, { headers }),
        (r) => r.status === 200,
      );
      expect(back.status).toBe(200);
    }
  });
});
