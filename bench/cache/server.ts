/**
 * The server under test of the cache benchmark, run as a child process of `run.ts` (one per
 * variant and platform) so the load generator does not share its event loop. It reports its
 * port to the parent over IPC and closes on SIGTERM or when the parent goes away.
 *
 * Routes (all return the same JSON shape):
 * - GET /ours/:id     our `@Cached` (CacheService: singleflight, XFetch, optional L1)
 * - GET /cm/:id       the same loader behind @nestjs/cache-manager's CacheInterceptor (@keyv/redis)
 * - GET /ceiling/:id  the same JSON built at once: no cache, no loader delay (framework ceiling)
 * - GET /bench/loads  loader calls so far and the process's CPU ms; POST /bench/reset zeroes calls
 * - POST /bench/command-metrics/on|off|noop  switches Redis command metrics in this process
 *   (for the paired measurement of their overhead, bench/cache/metrics-paired.ts)
 *
 * Environment (set by run.ts): REDIS_URL (a private redis-server), HTTP_PLATFORM,
 * CACHE_L1_MAX_ENTRIES, CACHE_AUTO_PIPELINING, REDIS_COMMAND_METRICS, REDIS_REQUEST_COST,
 * BENCH_LOADER_MS, BENCH_TTL_MS, BENCH_STALE_TTL_MS, BENCH_BETA.
 */
import 'reflect-metadata';
import KeyvRedis from '@keyv/redis';
import {
  CacheInterceptor as NestCacheInterceptor,
  CacheModule as NestCacheModule,
  CacheTTL as NestCacheTTL,
} from '@nestjs/cache-manager';
import {
  Controller,
  Get,
  HttpCode,
  INestApplication,
  Module,
  Param,
  Post,
  UseInterceptors,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { cacheOptions, metricsOptions, redisOptions } from '../../src/app.options';
import { CacheModule, Cached } from '../../src/cache';
import type { AppConfig } from '../../src/config';
import { createHttpAdapter, HttpModule, expressRequestId } from '../../src/http';
import {
  HttpRequestMetrics,
  MetricsModule,
  MetricsService,
  REDIS_COMMAND_DURATION,
  REDIS_COMMAND_ERRORS,
  RedisCommandMetrics,
} from '../../src/metrics';
import diagnostics from 'node:diagnostics_channel';
import type { Server } from 'node:http';
import { RedisModule } from '../../src/redis';
import { benchConfig, privateRedisUrl, runServer, serveUntilStopped } from '../lib/server';
import { num, sleep } from '../lib/util';

// Read at load time: decorator options are fixed when the class is defined.
const LOADER_MS = num('BENCH_LOADER_MS', 0);
const TTL_MS = num('BENCH_TTL_MS', 60_000);
const STALE_TTL_MS = num('BENCH_STALE_TTL_MS', 0);
const BETA = num('BENCH_BETA', 1);

export interface BenchItem {
  id: string;
  name: string;
  tags: string[];
  updatedAt: string;
}

const FIXED_DATE = new Date('2025-01-01T00:00:00.000Z').toISOString();
const item = (id: string): BenchItem => ({
  id,
  name: `item ${id}`,
  tags: ['a', 'b'],
  updatedAt: FIXED_DATE,
});

/** The loader both cached routes call ("the database"): counts calls, waits BENCH_LOADER_MS. */
class Loader {
  calls = 0;

  async load(id: string): Promise<BenchItem> {
    this.calls += 1;
    if (LOADER_MS > 0) await sleep(LOADER_MS);
    return item(id);
  }
}
const loader = new Loader();

/** The states of Redis command metrics the paired benchmark switches between. */
type CommandMetricsState = 'on' | 'off' | 'noop';

/** Set in main(): switches this app's Redis command metrics (see commandMetricsSwitch). */
let switchCommandMetrics: ((state: CommandMetricsState) => void) | undefined;

const noop = (): void => undefined;
const commandChannel = diagnostics.tracingChannel('ioredis:command');

/**
 * Switches the app's Redis command metrics at run time: `on` and `off` as if the app had started
 * with REDIS_COMMAND_METRICS=true or false (off unsubscribes the tracing channel and clears the
 * clients' observer, RedisCommandMetrics' shutdown path; on registers them again); `noop`
 * (diagnostic) leaves them off and subscribes handlers that do nothing to the same channel, so
 * ioredis and Node do their tracing work (trace context, traced promise) without ours.
 */
function commandMetricsSwitch(app: INestApplication): (state: CommandMetricsState) => void {
  const commandMetrics = app.get(RedisCommandMetrics);
  const registry = app.get(MetricsService).registry;
  if (!commandMetrics.enabled) throw new Error('start the server with REDIS_COMMAND_METRICS on');
  let current: CommandMetricsState = 'on';
  const setNoop = (on: boolean): void => {
    for (const ch of [commandChannel.start, commandChannel.asyncEnd, commandChannel.error])
      if (on) ch.subscribe(noop);
      else ch.unsubscribe(noop);
  };
  return (state) => {
    if (state === current) return;
    if (current === 'on') commandMetrics.onApplicationShutdown();
    if (current === 'noop') setNoop(false);
    current = state;
    if (state === 'noop') setNoop(true);
    if (state === 'on') {
      registry.removeSingleMetric(REDIS_COMMAND_DURATION);
      registry.removeSingleMetric(REDIS_COMMAND_ERRORS);
      commandMetrics.onModuleInit();
    }
  };
}

@Controller()
class BenchController {
  @Get('ours/:id')
  @Cached({
    cache: 'bench',
    key: 'item:{id}',
    ttl: TTL_MS,
    scope: 'shared',
    beta: BETA,
    staleTtl: STALE_TTL_MS,
  })
  ours(@Param('id') id: string): Promise<BenchItem> {
    return loader.load(id);
  }

  @Get('cm/:id')
  @UseInterceptors(NestCacheInterceptor)
  @NestCacheTTL(TTL_MS)
  cm(@Param('id') id: string): Promise<BenchItem> {
    return loader.load(id);
  }

  @Get('ceiling/:id')
  ceiling(@Param('id') id: string): BenchItem {
    return item(id);
  }

  /** Loader calls so far, and this process's CPU time (user + system) in ms. */
  @Get('bench/loads')
  loads(): { loads: number; cpuMs: number } {
    const cpu = process.cpuUsage();
    return { loads: loader.calls, cpuMs: (cpu.user + cpu.system) / 1000 };
  }

  @Post('bench/command-metrics/:state')
  @HttpCode(200)
  commandMetrics(@Param('state') state: string): { state: string } {
    if (!switchCommandMetrics || (state !== 'on' && state !== 'off' && state !== 'noop'))
      throw new Error(`command metrics: unknown state ${state}`);
    switchCommandMetrics(state);
    return { state };
  }

  @Post('bench/reset')
  @HttpCode(200)
  reset(): { loads: number } {
    loader.calls = 0;
    return { loads: 0 };
  }
}

function benchModule(config: AppConfig, redisUrl: string) {
  @Module({
    imports: [
      RedisModule.forRoot(redisOptions(config)),
      MetricsModule.forRoot(metricsOptions(config)),
      HttpModule,
      CacheModule.forRoot(cacheOptions(config)),
      // @nestjs/cache-manager on the same Redis, its own key space (keys are request URLs).
      NestCacheModule.register({ stores: [new KeyvRedis(redisUrl)], ttl: TTL_MS }),
    ],
    controllers: [BenchController],
  })
  class BenchModule {}
  return BenchModule;
}

async function main(): Promise<void> {
  const env = process.env;
  const redisUrl = privateRedisUrl();
  const config = benchConfig(redisUrl, {
    HTTP_PLATFORM: env.HTTP_PLATFORM,
    CACHE_L1_MAX_ENTRIES: env.CACHE_L1_MAX_ENTRIES,
    CACHE_AUTO_PIPELINING: env.CACHE_AUTO_PIPELINING,
    REDIS_COMMAND_METRICS: env.REDIS_COMMAND_METRICS,
    REDIS_REQUEST_COST: env.REDIS_REQUEST_COST,
  });

  const app: INestApplication = await NestFactory.create(
    benchModule(config, redisUrl),
    createHttpAdapter(config),
    { logger: false, bodyParser: false, abortOnError: false },
  );
  // The request listener of the real app (HTTP histogram, and each request's Redis cost when
  // Redis command metrics are on), as configureApp() attaches it.
  app.get(HttpRequestMetrics).attach(app.getHttpServer() as Server);
  switchCommandMetrics = commandMetricsSwitch(app);
  if (config.httpPlatform === 'express') {
    // What configureApp() adds on Express (the Fastify adapter does it in createHttpAdapter).
    const express = app as NestExpressApplication;
    express.use(expressRequestId);
    express.disable('x-powered-by');
  }
  await serveUntilStopped(app);
}

runServer(main);
