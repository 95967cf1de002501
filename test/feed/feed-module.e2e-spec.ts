import { Test, TestingModule } from '@nestjs/testing';
import type { Cluster, Redis } from 'ioredis';
import { FeedEntry, FeedFanout, FeedModule, FeedService } from '../../src/feed';
import { getRedisToken, RedisModule, RedisTopology } from '../../src/redis';
import { eventually, sharedRedisEnv, testPrefix } from '../support/app';

/** The shared test Redis as a topology (standalone, or the Cluster of `npm run test:cluster`). */
function sharedTopology(): RedisTopology {
  const env = sharedRedisEnv();
  if (env.REDIS_CLUSTER_NODES) {
    return {
      mode: 'cluster',
      nodes: env.REDIS_CLUSTER_NODES.split(',').map((hp) => {
        const [host, port] = hp.split(':');
        return { host, port: Number(port) };
      }),
    };
  }
  return { mode: 'standalone', url: env.REDIS_URL };
}

/**
 * FeedModule on its own (RedisModule and explicit options, no AppConfig, no domain modules):
 * the `followersOf` and `publisher` seams the composition root wires — the publisher is what
 * the realtime module's `toUser(userId, 'feed', entry)` plugs into.
 */
describe('FeedModule with its seams (followersOf, publisher)', () => {
  const ACTOR = 10;
  const followers = [11, 12];
  const pushed: { userId: number; entry: FeedEntry }[] = [];
  let moduleRef: TestingModule;
  let feed: FeedService;
  let redis: Redis | Cluster;

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [
        RedisModule.forRoot({
          prefix: testPrefix(__filename),
          state: { topology: sharedTopology() },
        }),
        FeedModule.forRoot({
          followersOf: (userId) => Promise.resolve(userId === ACTOR ? followers : []),
          fanout: true,
          claimIdleMs: 500,
          publisher: {
            publish: (userId, entry) => {
              pushed.push({ userId, entry });
              // A failing push must not stop the fan-out: the feed is the record.
              if (userId === 12) throw new Error('socket server unreachable');
            },
          },
        }),
      ],
    }).compile();
    await moduleRef.init();
    feed = moduleRef.get(FeedService);
    redis = moduleRef.get<Redis | Cluster>(getRedisToken('state'));
  });

  afterAll(async () => {
    await moduleRef?.close();
  });

  it('pushes each entry once to each feed it reaches, never for a duplicate delivery', async () => {
    const sourceId = await feed.record({ actorId: ACTOR, action: 'post.created', targetId: 5 });
    expect(sourceId).toEqual(expect.stringMatching(/^\d+-\d+$/));
    const fanout = moduleRef.get(FeedFanout);
    await eventually(
      async () => (await Promise.all([11, 12].map((u) => redis.xlen(feed.keys.feed(u))))).join(),
      (lengths) => lengths === '1,1',
    );
    expect(
      await eventually(
        () => fanout.pendingCount(),
        (n) => n === 0,
      ),
    ).toBe(0);
    // A second delivery (a claim after a crash) appends nothing and pushes nothing.
    expect(
      await feed.append(11, sourceId!, { actorId: ACTOR, action: 'post.created', targetId: 5 }),
    ).toBeNull();

    expect(pushed.map((p) => p.userId).sort()).toEqual([10, 11, 12]);
    for (const { userId, entry } of pushed) {
      const [[id]] = await redis.xrevrange(feed.keys.feed(userId), '+', '-', 'COUNT', 1);
      expect(entry).toEqual({
        id,
        action: 'post.created',
        actorId: ACTOR,
        targetId: 5,
        timestamp: expect.any(String),
      });
      expect((await feed.read(userId, { count: 10 })).entries).toEqual([entry]);
    }
  });
});
