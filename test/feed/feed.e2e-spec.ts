import type { Cluster, Redis } from 'ioredis';
import { FeedFanout, FeedService } from '../../src/feed';
import { getRedisToken } from '../../src/redis';
import { eventually, http, pool } from '../support/app';
import { credentialHeaders, issueTokens, SEEDED_USERS } from '../support/credentials';
import { describeOnPlatforms } from '../support/platforms';

/**
 * The activity feed on the real app (APP_ROLE=all: the fan-out consumer runs in the same
 * process), shared Redis (standalone, or a Cluster with TEST_REDIS_MODE=cluster).
 */
jest.setTimeout(120_000);

interface Entry {
  id: string;
  action: string;
  actorId: number | null;
  targetId: number | null;
  timestamp: string;
}

const { ada, alan, grace } = SEEDED_USERS;

describeOnPlatforms('activity feed', { env: { FEED_CLAIM_IDLE_MS: '1000' } }, (t) => {
  let feed: FeedService;
  let redis: Redis | Cluster;
  const auth: Record<string, Record<string, string>> = {};

  beforeAll(async () => {
    feed = t.app.get(FeedService);
    redis = t.app.get<Redis | Cluster>(getRedisToken('state'));
    for (const u of [ada, alan, grace]) {
      const tokens = await issueTokens(t.url, u.email);
      auth[u.email] = credentialHeaders('bearer', tokens);
    }
  });

  const readFeed = (who: string, query = '') =>
    http(`${t.url}/api/feed${query}`, { headers: auth[who] });

  it('keeps only about the newest FEED_MAXLEN (1000) of 2,500 activities, in one XADD with MAXLEN ~', async () => {
    const user = 900_001; // no followers: only its own feed is written
    await pool(
      Array.from({ length: 2500 }, (_, i) => i + 1),
      50,
      (i) => feed.record({ actorId: user, action: 'post.created', targetId: i }),
    );
    // The fan-out (in this app) also writes the actor's own feed, deduplicated: wait until it is done.
    const fanout = t.app.get(FeedFanout);
    const caughtUp = await eventually(
      async () => {
        const [last] = await redis.xrevrange(feed.keys.activity, '+', '-', 'COUNT', 1);
        const groups = (await redis.xinfo('GROUPS', feed.keys.activity)) as string[][];
        const delivered = groups[0][groups[0].indexOf('last-delivered-id') + 1];
        return delivered === last[0] && (await fanout.pendingCount()) === 0;
      },
      (done) => done,
      60_000,
    );
    expect(caughtUp).toBe(true);
    const len = await redis.xlen(feed.keys.feed(user));
    // MAXLEN ~ trims whole macro nodes only: at least 1000 stay, and less than one node more.
    const nodeMax = Number(
      ((await redis.call('CONFIG', 'GET', 'stream-node-max-entries')) as string[])[1],
    );
    expect(len).toBeGreaterThanOrEqual(1000);
    expect(len).toBeLessThan(1000 + nodeMax);
    // The kept entries are the newest ones, each once, newest first.
    const kept = (await redis.xrevrange(feed.keys.feed(user), '+', '-')).map(([, f]) =>
      Number(f[f.indexOf('targetId') + 1]),
    );
    expect(kept).toEqual(Array.from({ length: len }, (_, i) => 2500 - i));
  });

  it('pages with `before` through the whole feed newest first, each entry exactly once', async () => {
    for (let i = 1; i <= 47; i++)
      await feed.record({ actorId: ada.id, action: 'post.created', targetId: 10_000 + i });
    // An entry with unknown fields is read by name; one without an action is skipped.
    await redis.xadd(
      feed.keys.feed(ada.id),
      '*',
      'zz',
      '1',
      'targetId',
      '7',
      'action',
      'x.new',
      'actorId',
      'oops',
    );
    await redis.xadd(feed.keys.feed(ada.id), '*', 'targetId', '8');
    const all = await redis.xrevrange(feed.keys.feed(ada.id), '+', '-');
    const seen: Entry[] = [];
    let before: string | null = null;
    let pages = 0;
    do {
      const res = await readFeed(ada.email, `?count=10${before ? `&before=${before}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...(res.body.entries as Entry[]));
      before = res.body.next as string | null;
      pages++;
    } while (before !== null && pages < 100);
    const ids = seen.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    // Everything but the entry without an action, in the stream's newest-first order.
    expect(ids).toEqual(all.map(([id]) => id).filter((_, i) => i !== 0));
    expect(seen[0]).toEqual({
      id: all[1][0],
      action: 'x.new',
      actorId: null,
      targetId: 7,
      timestamp: expect.any(String),
    });
    const post = seen.find((e) => e.targetId === 10_047)!;
    expect(post).toMatchObject({ action: 'post.created', actorId: ada.id });
    expect(Date.parse(post.timestamp)).toBeGreaterThan(Date.now() - 600_000);
  });

  it('delivers a followed user’s post to the follower’s feed through the fan-out', async () => {
    // Grace follows Alan, then Alan posts.
    const follow = await http(`${t.url}/api/users/${alan.id}/followers`, {
      method: 'POST',
      body: { followerId: grace.id },
    });
    expect(follow.status).toBe(201);
    const created = await http(`${t.url}/api/posts`, {
      method: 'POST',
      body: { userId: alan.id, title: 'Streams', content: 'fan-out' },
    });
    expect(created.status).toBe(201);
    const postId = created.body.id as number;
    const graceFeed = await eventually(
      () => readFeed(grace.email),
      (r) => (r.body.entries as Entry[]).some((e) => e.targetId === postId),
    );
    const entries = graceFeed.body.entries as Entry[];
    expect(entries.filter((e) => e.action === 'post.created' && e.targetId === postId)).toEqual([
      expect.objectContaining({ actorId: alan.id }),
    ]);
    // Grace's own activity is in her feed too; Alan's own feed has his post.
    expect(entries).toContainEqual(
      expect.objectContaining({ action: 'user.followed', actorId: grace.id, targetId: alan.id }),
    );
    const alanFeed = (await readFeed(alan.email)).body.entries as Entry[];
    expect(alanFeed).toContainEqual(
      expect.objectContaining({ action: 'post.created', actorId: alan.id, targetId: postId }),
    );
    // The fan-out reported its lag and the group's pending count.
    const metrics = (await http(`${t.url}/metrics`)).text;
    expect(metrics).toMatch(/^feed_fanout_lag_seconds_count [1-9]/m);
    expect(metrics).toMatch(/^feed_fanout_pending \d+/m);
  });

  it('records a profile update in the user’s feed', async () => {
    const res = await http(`${t.url}/api/users/${grace.id}`, {
      method: 'PATCH',
      body: { name: 'Grace B. Hopper' },
    });
    expect(res.status).toBe(200);
    const entries = (await readFeed(grace.email)).body.entries as Entry[];
    expect(entries[0]).toMatchObject({
      action: 'profile.updated',
      actorId: grace.id,
      targetId: grace.id,
    });
  });

  it.each([
    ['?count=0', /count must be an integer from 1 to 100/],
    ['?count=101', /count must be an integer from 1 to 100/],
    ['?count=abc', /count must be an integer from 1 to 100/],
    ['?count=1.5', /count must be an integer from 1 to 100/],
    ['?count=5&count=6', /count must be an integer from 1 to 100/],
    ['?before=xyz', /before must be a stream id/],
    ['?before=1-2-3', /before must be a stream id/],
    ['?before=-1-0', /before must be a stream id/],
    ['?before=99999999999999999999-0', /before must be a stream id/],
    ['?before=', /before must be a stream id/],
  ])('answers 400 JSON for %s', async (query, message) => {
    const res = await readFeed(ada.email, query);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, message: expect.stringMatching(message) });
  });

  it('answers the cursor 0-0 (nothing is older) with an empty last page', async () => {
    const res = await readFeed(ada.email, '?before=0-0');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ entries: [], next: null });
  });

  it('refuses an unauthenticated request with 401 JSON', async () => {
    const res = await http(`${t.url}/api/feed`);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ statusCode: 401, message: expect.any(String) });
  });
});
