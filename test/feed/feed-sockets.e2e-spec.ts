import type { Cluster, Redis } from 'ioredis';
import { Database } from '../../src/database';
import { FeedFanout, FeedService } from '../../src/feed';
import { RealtimeService } from '../../src/realtime';
import { getRedisToken } from '../../src/redis';
import {
  createTestApp,
  eventually,
  http,
  openSharedTestDatabase,
  PLATFORMS,
  TestApp,
  testPrefix,
} from '../support/app';
import { credentialHeaders, issueTokens, SEEDED_USERS } from '../support/credentials';
import { connectSocket, TestSocket } from '../support/sockets';

/**
 * The composition root's feed publisher (FeedModule.forRootAsync → RealtimeService.toUser(userId,
 * 'feed', entry)) end to end: two API instances A and B and a worker process (the fan-out
 * consumer) of one fleet (same Redis, same prefix, one database). A follower connected to B
 * receives the followed user's new post as a `feed` event, once, with the entry GET /api/feed
 * shows; the author's own socket receives the author's own entry.
 */
jest.setTimeout(120_000);

interface Entry {
  id: string;
  action: string;
  actorId: number | null;
  targetId: number | null;
  timestamp: string;
}

const { alan, grace } = SEEDED_USERS;

describe.each(PLATFORMS)('feed events to sockets across instances on %s', (platform) => {
  let db: Database;
  let a: TestApp;
  let b: TestApp;
  let worker: TestApp;
  const open: TestSocket[] = [];
  const track = (s: TestSocket) => (open.push(s), s);

  beforeAll(async () => {
    db = await openSharedTestDatabase();
    const prefix = testPrefix(__filename);
    [a, b, worker] = await Promise.all([
      createTestApp({ platform, prefix, role: 'api', database: db }),
      createTestApp({ platform, prefix, role: 'api', database: db }),
      createTestApp({ platform, prefix, role: 'worker', database: db }),
    ]);
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
  });
  afterAll(async () => {
    await Promise.all([a, b, worker].map((t) => t?.close()));
    await db?.close();
  });

  /** True once the fan-out group has been handed the newest activity and acknowledged everything. */
  const fanoutCaughtUp = async (): Promise<boolean> => {
    const redis = worker.app.get<Redis | Cluster>(getRedisToken('state'));
    const keys = worker.app.get(FeedService).keys;
    const [last] = await redis.xrevrange(keys.activity, '+', '-', 'COUNT', 1);
    if (!last) return false;
    const groups = (await redis.xinfo('GROUPS', keys.activity)) as string[][];
    if (groups.length === 0) return false;
    const delivered = groups[0][groups[0].indexOf('last-delivered-id') + 1];
    return delivered === last[0] && (await worker.app.get(FeedFanout).pendingCount()) === 0;
  };

  it('pushes a followed user’s post created through A to the follower’s socket on B once, as the entry GET /api/feed shows; the author gets their own entry', async () => {
    const x = await issueTokens(b.url, alan.email);
    const y = await issueTokens(a.url, grace.email);
    // X (Alan) follows Y (Grace), through A.
    const follow = await http(`${a.url}/api/users/${grace.id}/followers`, {
      method: 'POST',
      body: { followerId: alan.id },
    });
    expect(follow.status).toBe(201);
    // Let the follow's own activity finish its fan-out: only the post's events are counted below.
    expect(await eventually(fanoutCaughtUp, (done) => done, 60_000)).toBe(true);

    const xOnB = track(await connectSocket(b.url, { token: x.accessToken }));
    const yOnA = track(await connectSocket(a.url, { token: y.accessToken }));

    const created = await http(`${a.url}/api/posts`, {
      method: 'POST',
      body: { userId: grace.id, title: 'Feed events', content: 'to sockets' },
    });
    expect(created.status).toBe(201);
    const postId = created.body.id as number;
    const isThePost = (e: unknown) =>
      (e as Entry).action === 'post.created' && (e as Entry).targetId === postId;

    const xGot = await eventually(
      async () => xOnB.events('feed').filter(isThePost),
      (e) => e.length > 0,
      30_000,
    );
    const yGot = await eventually(
      async () => yOnA.events('feed').filter(isThePost),
      (e) => e.length > 0,
      30_000,
    );

    // No second push can still be under way: the fan-out has acknowledged the activity, then a
    // marker sent after it through the same event stream has reached both sockets (the stream is
    // delivered in order).
    expect(await eventually(fanoutCaughtUp, (done) => done, 60_000)).toBe(true);
    const realtime = a.app.get(RealtimeService);
    await realtime.toUser(alan.id, 'marker', { n: 1 });
    await realtime.toUser(grace.id, 'marker', { n: 1 });
    await eventually(
      async () => [xOnB.events('marker'), yOnA.events('marker')],
      ([mx, my]) => mx.length > 0 && my.length > 0,
      30_000,
    );

    // X: exactly one `feed` event for the post, and it is the entry of X's feed.
    const xEvents = xOnB.events('feed').filter(isThePost) as Entry[];
    expect(xEvents).toHaveLength(1);
    expect(xEvents).toEqual(xGot);
    expect(xEvents[0]).toEqual({
      id: expect.stringMatching(/^\d+-\d+$/),
      action: 'post.created',
      actorId: grace.id,
      targetId: postId,
      timestamp: expect.any(String),
    });
    const xFeed = await http(`${b.url}/api/feed`, {
      headers: credentialHeaders('bearer', x),
    });
    expect(xFeed.status).toBe(200);
    const xInFeed = (xFeed.body.entries as Entry[]).filter(isThePost);
    expect(xInFeed).toEqual([xEvents[0]]);

    // Y: exactly one `feed` event for the post: the entry of Y's own feed (its own id there).
    const yEvents = yOnA.events('feed').filter(isThePost) as Entry[];
    expect(yEvents).toHaveLength(1);
    expect(yEvents).toEqual(yGot);
    const yFeed = await http(`${a.url}/api/feed`, {
      headers: credentialHeaders('bearer', y),
    });
    expect(yFeed.status).toBe(200);
    expect((yFeed.body.entries as Entry[]).filter(isThePost)).toEqual([yEvents[0]]);
    expect(yEvents[0]).toMatchObject({ action: 'post.created', actorId: grace.id });
  });
});
