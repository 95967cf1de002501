/**
 * The HTTP server under test of the rate-limit benchmark, run as a child process of `run.ts`
 * (one per variant and run) so the load generator does not share its event loop. Fastify (the
 * project's default platform). It reports its port over IPC and exits on SIGTERM or when the
 * parent goes away.
 *
 * The same handler, GET /hello, behind (BENCH_LIMITER):
 * - `ours`     our RateLimitModule (global RateLimitGuard + RedisThrottlerStorage, RATE_LIMIT)
 * - `approx`   the same in approximate mode (RATE_LIMIT_MODE=approximate)
 * - `nestlab`  @nestjs/throttler's ThrottlerGuard with @nest-lab/throttler-storage-redis
 * - `none`     no limiter
 * All three have the same other modules (Config, Redis, Metrics, Http).
 * GET /bench/stats (never throttled): /hello responses so far (any status) and process CPU ms.
 * For the paired diagnostic (ratelimit-paired.ts), the same handler also answers GET /skip
 * (`@SkipThrottle()`: a global limiter's guard runs and skips) and GET /noop-guard (behind a
 * route guard that only returns `true` from an async `canActivate`).
 *
 * Environment (set by run.ts): REDIS_URL (a private redis-server), BENCH_LIMITER,
 * BENCH_RL_LIMIT, BENCH_RL_WINDOW_MS.
 */
import 'reflect-metadata';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import {
  CanActivate,
  Controller,
  Get,
  INestApplication,
  Injectable,
  Module,
  Type,
  UseGuards,
} from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import type { FastifyAdapter } from '@nestjs/platform-fastify';
import { SkipThrottle, ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import { Redis } from 'ioredis';
import type { AppConfig } from '../../src/config';
import { createHttpAdapter, HttpModule } from '../../src/http';
import { MetricsModule } from '../../src/metrics';
import { RateLimitModule } from '../../src/rate-limit';
import { RedisModule } from '../../src/redis';
import { rateLimitOptions, redisOptions } from '../../src/app.options';
import { benchConfig, privateRedisUrl, runServer, serveUntilStopped } from '../lib/server';

type Limiter = 'ours' | 'approx' | 'nestlab' | 'none';

let served = 0;

/** A guard that does nothing: what Nest's guard pipeline costs a route by itself. */
@Injectable()
class NoopGuard implements CanActivate {
  async canActivate(): Promise<boolean> {
    return true;
  }
}

@Controller()
class BenchController {
  @Get('hello')
  hello(): { hello: string } {
    return { hello: 'world' };
  }

  @Get('skip')
  @SkipThrottle()
  skip(): { hello: string } {
    return { hello: 'world' };
  }

  @Get('noop-guard')
  @UseGuards(NoopGuard)
  noopGuard(): { hello: string } {
    return { hello: 'world' };
  }

  @Get('bench/stats')
  @SkipThrottle()
  stats(): { requests: number; cpuMs: number } {
    const cpu = process.cpuUsage();
    return { requests: served, cpuMs: (cpu.user + cpu.system) / 1000 };
  }
}

function benchModule(
  config: AppConfig,
  limiter: Limiter,
  limit: number,
  windowMs: number,
  nestlabClient: Redis | undefined,
): Type<unknown> {
  const base = [RedisModule.forRoot(redisOptions(config)), MetricsModule.forRoot({}), HttpModule];
  if (limiter === 'ours' || limiter === 'approx') {
    @Module({
      imports: [...base, RateLimitModule.forRoot(rateLimitOptions(config))],
      controllers: [BenchController],
    })
    class OursModule {}
    return OursModule;
  }
  if (limiter === 'nestlab') {
    @Module({
      imports: [
        ...base,
        ThrottlerModule.forRoot({
          throttlers: [{ name: 'default', limit, ttl: windowMs }],
          storage: new ThrottlerStorageRedisService(nestlabClient),
        }),
      ],
      controllers: [BenchController],
      providers: [{ provide: APP_GUARD, useClass: ThrottlerGuard }],
    })
    class NestLabModule {}
    return NestLabModule;
  }
  @Module({ imports: base, controllers: [BenchController] })
  class NoLimiterModule {}
  return NoLimiterModule;
}

async function main(): Promise<void> {
  const env = process.env;
  const redisUrl = privateRedisUrl();
  const limiter = env.BENCH_LIMITER as Limiter;
  if (!['ours', 'approx', 'nestlab', 'none'].includes(limiter))
    throw new Error(`BENCH_LIMITER must be ours | approx | nestlab | none (got "${limiter}")`);
  const limit = Number(env.BENCH_RL_LIMIT);
  const windowMs = Number(env.BENCH_RL_WINDOW_MS);
  if (!Number.isInteger(limit) || limit < 1 || !Number.isInteger(windowMs) || windowMs < 1)
    throw new Error('BENCH_RL_LIMIT and BENCH_RL_WINDOW_MS must be positive integers');

  const config = benchConfig(redisUrl, {
    HTTP_PLATFORM: 'fastify',
    RATE_LIMIT: `${limit}/${windowMs}ms`,
    RATE_LIMIT_MODE: limiter === 'approx' ? 'approximate' : 'exact',
  });
  const nestlabClient = limiter === 'nestlab' ? new Redis(redisUrl) : undefined;
  const adapter = createHttpAdapter(config) as FastifyAdapter;
  // Counts every /hello response, 429s included (a guard rejection never reaches the handler).
  adapter.getInstance().addHook('onResponse', (req, _reply, done) => {
    if (req.url === '/hello') served += 1;
    done();
  });
  const app: INestApplication = await NestFactory.create(
    benchModule(config, limiter, limit, windowMs, nestlabClient),
    adapter,
    { logger: false, bodyParser: false, abortOnError: false },
  );
  await serveUntilStopped(app, () => nestlabClient?.disconnect());
}

runServer(main);
