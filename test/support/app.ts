import { INestApplication, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { DestinationStream } from 'pino';
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { AppModule } from '../../src/app.module';
import { Database, openDatabase } from '../../src/database';
import { AppConfig, AppRole, HttpPlatform, loadConfig } from '../../src/config';
import { APP_OPTIONS, configureApp, createHttpAdapter } from '../../src/http';

export const PLATFORMS: HttpPlatform[] = ['fastify', 'express'];

/** True when this run's shared Redis is a Cluster (`npm run test:cluster`). */
export const isClusterRun = (): boolean => Boolean(process.env.TEST_REDIS_CLUSTER_NODES);

/** The shared Redis of this run as environment variables for {@link loadConfig}. */
export function sharedRedisEnv(): Record<string, string> {
  if (process.env.TEST_REDIS_CLUSTER_NODES)
    return { REDIS_CLUSTER_NODES: process.env.TEST_REDIS_CLUSTER_NODES };
  if (process.env.TEST_REDIS_URL) return { REDIS_URL: process.env.TEST_REDIS_URL };
  throw new Error('No test Redis: run e2e suites through jest (globalSetup starts one)');
}

/** The shared Redis of this run as a RedisModule topology (standalone or Cluster). */
export function sharedRedisTopology():
  | { mode: 'standalone'; url: string }
  | { mode: 'cluster'; nodes: { host: string; port: number }[] } {
  const env = sharedRedisEnv();
  return env.REDIS_CLUSTER_NODES
    ? {
        mode: 'cluster',
        nodes: env.REDIS_CLUSTER_NODES.split(',').map((hp) => ({
          host: hp.split(':')[0],
          port: Number(hp.split(':')[1]),
        })),
      }
    : { mode: 'standalone', url: env.REDIS_URL };
}

const TOPOLOGY_ENV = ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'];

/** A key prefix unique to this test file and run, so files sharing a Redis never see each other's keys. */
export function testPrefix(file: string): string {
  return `t-${basename(file)
    .replace(/\..*$/, '')
    .replace(/[^A-Za-z0-9-]/g, '-')}-${randomBytes(3).toString('hex')}`;
}

export interface TestAppOptions {
  platform?: HttpPlatform;
  role?: AppRole;
  /** Key prefix; pass the same one to several apps to make them one fleet. */
  prefix: string;
  /** Extra environment (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES of a private topology, DATABASE_URL, …). */
  env?: Record<string, string>;
  /** A database shared with other apps of the test (several instances of one fleet). */
  database?: Database;
  /** Test-only modules (controllers, providers) added to the app. */
  extraModules?: Type[];
  /** Where the app's logs go (default: stdout). */
  logStream?: DestinationStream;
}

export interface TestApp {
  app: INestApplication;
  config: AppConfig;
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  close(): Promise<void>;
}

/**
 * Builds the real AppModule with @nestjs/testing on the chosen platform, against real Redis
 * and an in-memory PGlite (unless `env.DATABASE_URL` says otherwise), listening on port 0.
 */
export async function createTestApp(o: TestAppOptions): Promise<TestApp> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
    HTTP_PLATFORM: o.platform ?? 'fastify',
    REDIS_PREFIX: o.prefix,
    REDIS_COMMAND_TIMEOUT_MS: '2000',
    DATABASE_URL: 'memory://',
    // Suites that test rate limiting set their own; the rest must not be throttled.
    RATE_LIMIT: '1000000/60s',
    // Nor are failed logins (the fuzz sends thousands): suites that test login throttling set theirs.
    AUTH_LOGIN_LIMIT: '1000000/15m',
    AUTH_LOGIN_CLIENT_LIMIT: '1000000/15m',
    // A suite with a private topology (a server, a Sentinel set or a Cluster) gets only that
    // one: the shared Redis's variables would otherwise win or clash (Cluster > Sentinel > URL).
    ...(TOPOLOGY_ENV.some((v) => o.env?.[v]) ? {} : sharedRedisEnv()),
    ...o.env,
  });
  const builder = Test.createTestingModule({
    imports: [
      AppModule.forRoot(config, o.role ?? 'all', { logStream: o.logStream }),
      ...(o.extraModules ?? []),
    ],
  });
  if (o.database) {
    // Shared with other apps: closing this app must not close it (the suite does, at the end).
    const shared = Object.create(o.database, {
      close: { value: async () => undefined },
    }) as Database;
    builder.overrideProvider(Database).useValue(shared);
  }
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication(createHttpAdapter(config), APP_OPTIONS);
  await configureApp(app, config);
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
  return { app, config, url, close: () => app.close() };
}

/** fetch with a JSON body; returns status, headers and parsed JSON (or text). */
export async function http(
  url: string,
  init: { method?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test bodies are asserted field by field
): Promise<{ status: number; headers: Headers; body: any; text: string }> {
  const headers: Record<string, string> = { ...init.headers };
  let body: string | undefined;
  if (init.raw !== undefined) body = init.raw;
  else if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(url, { method: init.method ?? 'GET', headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** Polls `fn` until `ok` holds or the time runs out; returns the last value (the test asserts on it). */
export async function eventually<T>(
  fn: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await fn();
  while (!ok(last) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    last = await fn();
  }
  return last;
}

/** An in-memory PGlite, migrated and seeded, for several test apps of one fleet (`database` option). */
export function openSharedTestDatabase(): Promise<Database> {
  return openDatabase({ connection: { kind: 'pglite', dataDir: null }, seedDemoData: true });
}

/** Runs `fn` over `items` with at most `n` at a time. */
export async function pool<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}
