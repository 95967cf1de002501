import { Cluster, Redis } from 'ioredis';
import { FeedKeys } from '../../src/feed';
import { freePort, RedisKeys } from '../../src/redis';
import { sharedRedisEnv, testPrefix } from '../support/app';
import { processGroup, Started } from '../support/processes';

/**
 * The fan-out as it runs in production: built worker processes (`npm run build` first) on the
 * shared Redis (standalone or Cluster), SIGKILLed or SIGTERMed in the middle of a batch. The
 * activities are written to the activity stream as `FeedService.record` writes them, and the
 * follower sets as `FollowersService.follow` does, so the workers alone fan them out.
 */
jest.setTimeout(240_000);

const GROUP = 'fanout';
const ACTOR = 1;
const FOLLOWERS = Array.from({ length: 200 }, (_, i) => 1000 + i);
const AUDIENCE = [ACTOR, ...FOLLOWERS];

function rawRedis(): Redis | Cluster {
  const env = sharedRedisEnv();
  if (env.REDIS_CLUSTER_NODES) {
    const nodes = env.REDIS_CLUSTER_NODES.split(',').map((hp) => {
      const [host, port] = hp.split(':');
      return { host, port: Number(port) };
    });
    return new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: null } });
  }
  return new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, everyMs = 200) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

describe('feed fan-out worker processes (built dist/worker.js, shared Redis)', () => {
  const group = processGroup();
  const prefix = testPrefix(__filename);
  const root = new RedisKeys(prefix);
  const keys = new FeedKeys(root);
  const followersKey = (id: number) => root.namespace('followers').tagged('graph', id);
  const common = {
    ...sharedRedisEnv(),
    REDIS_PREFIX: prefix,
    DATABASE_URL: 'memory://',
    RATE_LIMIT: '1000000/60s',
    FEED_FANOUT_BATCH: '50',
    FEED_MAX_DELIVERIES: '3',
  };
  let redis: Redis | Cluster;
  let recorded = 0;

  beforeAll(async () => {
    redis = rawRedis();
    await redis.sadd(followersKey(ACTOR), ...FOLLOWERS.map(String));
  });

  afterAll(async () => {
    await group.cleanup();
    await redis.quit();
  });

  async function startWorker(env: Record<string, string>): Promise<Started> {
    return group.run('worker', { ...common, PORT: String(await freePort()), ...env });
  }

  /** Activities of ACTOR with targets recorded+1 … recorded+n, as FeedService.record writes them. */
  async function record(n: number): Promise<void> {
    const p = redis.pipeline();
    for (let i = 1; i <= n; i++)
      p.xadd(
        keys.activity,
        '*',
        'actorId',
        String(ACTOR),
        'action',
        'post.created',
        'targetId',
        String(recorded + i),
      );
    await p.exec();
    recorded += n;
  }

  const pending = async (): Promise<number> => {
    try {
      return Number(((await redis.xpending(keys.activity, GROUP)) as [number])[0]);
    } catch {
      return 0; // no group yet
    }
  };

  const delivered = async (): Promise<string | undefined> => {
    const groups = (await redis.xinfo('GROUPS', keys.activity)) as unknown[][];
    const g = groups.find((x) => x[x.indexOf('name') + 1] === GROUP);
    return g?.[g.indexOf('last-delivered-id') + 1] as string | undefined;
  };

  const targetsIn = async (userId: number): Promise<number[]> =>
    (await redis.xrange(keys.feed(userId), '-', '+')).map(([, f]) =>
      Number(f[f.indexOf('targetId') + 1]),
    );

  /** Every feed of the audience holds every recorded activity, each exactly once. */
  async function expectEveryFeedComplete(): Promise<void> {
    const done = await waitFor(async () => {
      const [last] = await redis.xrevrange(keys.activity, '+', '-', 'COUNT', 1);
      if ((await delivered()) !== last[0] || (await pending()) !== 0) return false;
      const lengths = await Promise.all(AUDIENCE.map((u) => redis.xlen(keys.feed(u))));
      return lengths.every((l) => l >= recorded);
    }, 120_000);
    expect(done).toBe(true);
    const all = Array.from({ length: recorded }, (_, i) => i + 1);
    for (const u of AUDIENCE) {
      const targets = await targetsIn(u);
      expect({ user: u, targets: [...targets].sort((a, b) => a - b) }).toEqual({
        user: u,
        targets: all,
      });
    }
  }

  it('claims a SIGKILLed consumer’s pending batch in another process: none lost, none twice in a feed', async () => {
    await record(400);
    const a = await startWorker({ FEED_CLAIM_IDLE_MS: '3600000' });
    // Killed once it is mid-way: a batch delivered to it and partly fanned out.
    const midway = await waitFor(
      async () => (await pending()) > 0 && (await redis.xlen(keys.feed(FOLLOWERS[0]))) > 0,
      90_000,
      5,
    );
    a.proc.kill('SIGKILL');
    await a.exited;
    expect(midway).toBe(true);
    const orphaned = await pending();
    expect(orphaned).toBeGreaterThan(0);
    const lengths = await Promise.all(AUDIENCE.map((u) => redis.xlen(keys.feed(u))));
    expect(Math.min(...lengths)).toBeLessThan(400); // it did not finish

    // Another consumer claims the dead one's entries after FEED_CLAIM_IDLE_MS and delivers them.
    await startWorker({ FEED_CLAIM_IDLE_MS: '1000' });
    await expectEveryFeedComplete();
  });

  it('moves a poison activity to the dead-letter stream after FEED_MAX_DELIVERIES (3) deliveries, and a malformed one at once', async () => {
    // The worker from the previous test runs on (claim idle 1 s). A follower set that is not a
    // set makes every fan-out of user 2's activities fail (WRONGTYPE).
    await redis.set(followersKey(2), 'not a set');
    const poison = (await redis.xadd(
      keys.activity,
      '*',
      'actorId',
      '2',
      'action',
      'post.created',
      'targetId',
      '5',
    )) as string;
    const malformed = (await redis.xadd(
      keys.activity,
      '*',
      'action',
      'post.created',
      'junk',
      '1',
    )) as string;
    const dead = async () =>
      (await redis.xrange(keys.dead, '-', '+')).map(([, f]) => {
        const m = new Map<string, string>();
        for (let i = 0; i + 1 < f.length; i += 2) m.set(f[i], f[i + 1]);
        return m;
      });
    const both = await waitFor(
      async () => (await dead()).length >= 2 && (await pending()) === 0,
      60_000,
    );
    expect(both).toBe(true);
    const letters = await dead();
    // The malformed one at its first delivery, the poison one after its third.
    expect(letters.map((m) => m.get('sourceId'))).toEqual([malformed, poison]);
    const p = letters.find((m) => m.get('sourceId') === poison)!;
    expect(p.get('deliveries')).toBe('3');
    expect(p.get('reason')).toMatch(/after 3 deliveries/);
    expect(JSON.parse(p.get('fields')!)).toEqual({
      actorId: '2',
      action: 'post.created',
      targetId: '5',
    });
    expect(letters.find((m) => m.get('sourceId') === malformed)!.get('reason')).toMatch(
      /malformed/,
    );
    await redis.del(followersKey(2));
  });

  it('on SIGTERM finishes and acknowledges its batch, then exits; the rest waits for the next consumer', async () => {
    // Stop the running workers, then one worker mid-way through new activities gets SIGTERM.
    await group.cleanup();
    await record(300);
    const w = await startWorker({ FEED_CLAIM_IDLE_MS: '3600000' });
    const midway = await waitFor(async () => (await pending()) > 0, 90_000, 5);
    expect(midway).toBe(true);
    w.proc.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    // Its batch was finished and acknowledged before it closed: nothing is left pending.
    expect(await pending()).toBe(0);
    // A later consumer (claiming nothing: nothing is pending) delivers the rest, once each.
    await startWorker({ FEED_CLAIM_IDLE_MS: '3600000' });
    await expectEveryFeedComplete();
  });
});
