import { DynamicModule, Module, RequestMethod, Type } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { IncomingMessage } from 'node:http';
import type { Options } from 'pino-http';
import type { DestinationStream } from 'pino';
import { cacheOptions, databaseOptions, rateLimitOptions, redisOptions } from './app.options';
import { CacheModule } from './cache/cache.module';
import { CountersModule } from './counters/counters.module';
import { LockModule } from './lock/lock.module';
import { PAGE_VIEWS } from './pages/page-views';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { ConfigModule } from './config/config.module';
import type { AppConfig, AppRole } from './config/config.schema';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { HttpModule } from './http/http.module';
import { isQuietPath, redactingSerializers } from './http/log-redaction';
import { requestIdFrom } from './http/request-id';
import { MetricsModule } from './metrics/metrics.module';
import { PagesModule } from './pages/pages.module';
import { PostsModule } from './posts/posts.module';
import { LeaderboardModule } from './leaderboard/leaderboard.module';
import { FollowersModule } from './followers/followers.module';
import { ReportsModule } from './reports/reports.module';
import { RedisModule } from './redis/redis.module';
import { UsersModule } from './users/users.module';
import { WorkerModule } from './worker/worker.module';

/** Modules of the API role: HTTP controllers and (later) WebSocket gateways. */
const API_MODULES: Type[] = [
  UsersModule,
  PostsModule,
  PagesModule,
  ReportsModule,
  LeaderboardModule,
  FollowersModule,
];
/** Modules of the worker role: queue processors, stream consumers, counter flushing. */
const WORKER_MODULES: Type[] = [WorkerModule];

/**
 * The composition root. Infrastructure (config, logging, Redis, database, metrics, health) is
 * in every role; `api` adds the HTTP domain, `worker` the background processors, `all` both.
 */
@Module({})
export class AppModule {
  /** `logStream`: where logs go instead of stdout (tests read them). */
  static forRoot(
    config: AppConfig,
    role: AppRole = config.appRole,
    options: { logStream?: DestinationStream } = {},
  ): DynamicModule {
    const pinoOptions: Options = {
      level: config.logLevel,
      // The platform assigned the id (src/http/http-platform.ts); logs carry the same one.
      genReqId: (req: IncomingMessage) => req.id ?? requestIdFrom(req.headers),
      serializers: redactingSerializers,
      autoLogging: { ignore: isQuietPath },
      ...(config.isProduction ? {} : { quietReqLogger: true }),
    };
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot({
          pinoHttp: options.logStream ? [pinoOptions, options.logStream] : pinoOptions,
          forRoutes: [{ path: '*path', method: RequestMethod.ALL }],
        }),
        RedisModule.forRoot(redisOptions(config)),
        DatabaseModule.forRoot(databaseOptions(config)),
        MetricsModule.forRoot({}),
        HttpModule,
        HealthModule,
        CacheModule.forRoot({ ...cacheOptions(config), isGlobal: true }),
        LockModule.forRoot({ isGlobal: true }),
        RateLimitModule.forRoot(rateLimitOptions(config)),
        CountersModule.forRoot({
          counters: [PAGE_VIEWS],
          flush: role !== 'api',
          flushIntervalMs: config.counters.flushMs,
          isGlobal: true,
        }),
        ...(role === 'worker' ? [] : API_MODULES),
        ...(role === 'api' ? [] : WORKER_MODULES),
      ],
    };
  }
}
