/**
 * The feed part of the realtime benchmark, run as a child process of `run.ts` (one per run):
 * the app's worker role as a Nest application context (`AppModule.forRoot(config, 'worker')`:
 * FeedService, the fan-out consumer group, RealtimeService appending `feed` events), against the
 * runner's private redis-server.
 *
 * Set-up: user 1 is followed by users 2..N+1 (FollowersService.follow). Measured: `BENCH_FEED_
 * ACTIVITIES` activities of user 1 recorded with `FeedService.record` (50 at a time: one XADD to
 * the activity stream and the actor's own feed script each), then the time until the consumer
 * group has been handed the last activity and acknowledged everything (polled every 10 ms). Each
 * activity is appended by the fan-out to the actor's feed (a duplicate, skipped by the script)
 * and to N followers' feeds, each new entry also pushed as a `feed` event (one XADD to the event
 * stream).
 *
 * IPC: `{ type: 'ready', port: 0 }`, waits for `{ type: 'go' }`, answers `{ type: 'result', … }`.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { Cluster, Redis } from 'ioredis';
import { performance } from 'node:perf_hooks';
import { AppModule } from '../../src/app.module';
import { FeedFanout, FeedService } from '../../src/feed';
import { FollowersService } from '../../src/followers';
import { getRedisToken } from '../../src/redis';
import { redisDelta, redisSnapshot } from '../lib/redis-cost';
import { benchConfig, privateRedisUrl, runServer } from '../lib/server';
import { num, sleep } from '../lib/util';

export interface FeedResult {
  type: 'result';
  followers: number;
  activities: number;
  /** first record() call → last record() resolved */
  recordMs: number;
  /** first record() call → fan-out caught up */
  totalMs: number;
  /** feed entries written (actor's own + followers'), from XLEN */
  feedEntries: number;
  commands: number;
  redisCpuMs: number;
  nodeCpuMs: number;
}

async function main(): Promise<void> {
  const url = privateRedisUrl();
  const followers = Math.round(num('BENCH_FEED_FOLLOWERS', 100, 1));
  const activities = Math.round(num('BENCH_FEED_ACTIVITIES', 1000, 1));
  const config = benchConfig(url, { FEED_MAXLEN: String(Math.max(1000, activities * 2)) });
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config, 'worker'), {
    logger: false,
    abortOnError: false,
  });
  app.enableShutdownHooks();
  await app.init();
  const feed = app.get(FeedService);
  const fanout = app.get(FeedFanout);
  const graph = app.get(FollowersService, { strict: false });
  const redis = app.get<Redis | Cluster>(getRedisToken('state'));
  const admin = (redis as Redis).duplicate();
  for (let f = 2; f <= followers + 1; f++) await graph.follow(1, f);

  const caughtUp = async (): Promise<boolean> => {
    const [last] = await redis.xrevrange(feed.keys.activity, '+', '-', 'COUNT', 1);
    const groups = (await redis.xinfo('GROUPS', feed.keys.activity)) as string[][];
    if (!last || groups.length === 0) return false;
    const delivered = groups[0][groups[0].indexOf('last-delivered-id') + 1];
    return delivered === last[0] && (await fanout.pendingCount()) === 0;
  };

  process.on('message', (m: { type?: string }) => {
    if (m?.type !== 'go') return;
    void (async () => {
      // Warm-up: one activity through the whole path.
      await feed.record({ actorId: 1, action: 'post.created', targetId: activities + 1 });
      while (!(await caughtUp())) await sleep(10);
      const feedLength = async () => {
        let n = 0;
        for (let u = 1; u <= followers + 1; u++) n += await redis.xlen(feed.keys.feed(u));
        return n;
      };
      const entriesBefore = await feedLength();
      const before = await redisSnapshot(admin);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      let next = 1;
      const worker = async () => {
        while (next <= activities) {
          const i = next++;
          await feed.record({ actorId: 1, action: 'post.created', targetId: i });
        }
      };
      await Promise.all(Array.from({ length: 50 }, worker));
      const recordMs = performance.now() - t0;
      while (!(await caughtUp())) await sleep(10);
      const totalMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const delta = redisDelta(before, await redisSnapshot(admin));
      const feedEntries = (await feedLength()) - entriesBefore;
      const result: FeedResult = {
        type: 'result',
        followers,
        activities,
        recordMs,
        totalMs,
        feedEntries,
        commands: delta.commands,
        redisCpuMs: delta.cpuMs,
        nodeCpuMs: (cpu.user + cpu.system) / 1000,
      };
      process.send?.(result);
    })().catch((err: Error) => {
      console.error(err);
      process.exit(1);
    });
  });
  const stop = () => {
    setTimeout(() => process.exit(0), 3000).unref();
    admin.disconnect();
    app.close().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  };
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
  process.send?.({ type: 'ready', port: 0 });
}

runServer(main);
