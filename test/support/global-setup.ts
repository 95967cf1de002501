import { pgliteTemplate } from '../../src/database';
import { startRedisServer, TestRedis, TestRedisCluster } from './redis';

declare global {
  var __NRP_REDIS__: TestRedis | TestRedisCluster | undefined;
}

/**
 * Starts the Redis shared by the e2e suites of this run (a standalone server, or a 6-node
 * Cluster when TEST_REDIS_MODE=cluster) and publishes where it is through the environment,
 * which Jest's workers inherit. Each test file still gets its own key prefix; suites that stop
 * or kill Redis start a private one with startRedisServer().
 */
export default async function globalSetup(): Promise<void> {
  // Every test app opens an in-memory PGlite from the prepared template; make it once, here.
  await pgliteTemplate();
  if (process.env.TEST_REDIS_MODE === 'cluster') {
    const cluster = await TestRedisCluster.start();
    globalThis.__NRP_REDIS__ = cluster;
    process.env.TEST_REDIS_CLUSTER_NODES = cluster.nodeList;
    delete process.env.TEST_REDIS_URL;
  } else {
    const redis = await startRedisServer();
    globalThis.__NRP_REDIS__ = redis;
    process.env.TEST_REDIS_URL = redis.url;
    delete process.env.TEST_REDIS_CLUSTER_NODES;
  }
}
