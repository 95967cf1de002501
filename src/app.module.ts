import { DynamicModule, Module, Type } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { Options } from 'pino-http';
import type { DestinationStream } from 'pino';
import { AccountModule } from './account';
import {
  authOptions,
  cacheOptions,
  databaseOptions,
  feedOptions,
  mailOptions,
  jobsOptions,
  metricsOptions,
  opsOptions,
  queueOptions,
  rateLimitOptions,
  realtimeOptions,
  redisOptions,
  sessionOptions,
} from './app.options';
import { AuthModule, AuthService } from './auth';
import { SessionModule } from './session';
import { CacheModule } from './cache';
import { CountersModule } from './counters';
import { LockModule } from './lock';
import { MailModule } from './mail';
import { PAGE_VIEWS, PagesModule } from './pages';
import { RateLimitModule } from './rate-limit';
import { ConfigModule } from './config';
import type { AppConfig, AppRole } from './config';
import { DatabaseModule } from './database';
import { DemoModule } from './demo';
import { HealthModule } from './health';
import { HttpModule, redactingSerializers } from './http';
import { MetricsModule } from './metrics';
import { OpsModule } from './ops';
import { PostsModule } from './posts';
import { LeaderboardModule } from './leaderboard';
import { FeedModule } from './feed';
import { FollowersGraphModule, FollowersModule, FollowersService } from './followers';
import { ReportsModule } from './reports';
import { JobsModule } from './jobs';
import { NotificationsModule } from './notifications';
import { RealtimeModule, RealtimeService } from './realtime';
import { QueueModule } from './queue';
import { RedisModule } from './redis';
import { UsersModule, UsersService } from './users';
import { WorkerModule } from './worker/index'; // (./worker alone would be the entry file src/worker.ts)

/** Modules of the API role: HTTP controllers and (later) WebSocket gateways. */
const API_MODULES: Type[] = [
  UsersModule,
  AccountModule,
  PostsModule,
  PagesModule,
  ReportsModule,
  LeaderboardModule,
  FollowersModule,
  NotificationsModule,
  DemoModule,
];

/**
 * Realtime: in the API role the socket.io gateway (handshake through AuthService) and the
 * event-stream reader; in the worker role only RealtimeService, which appends to the stream.
 */
function realtimeModule(config: AppConfig, role: AppRole): DynamicModule {
  if (role === 'worker')
    return RealtimeModule.forRoot({ ...realtimeOptions(config), isGlobal: true });
  return RealtimeModule.forRootAsync({
    inject: [AuthService],
    useFactory: (auth: AuthService) => realtimeOptions(config, auth),
    gateway: true,
    isGlobal: true,
  });
}

/** Identity for the API role: sessions, and auth with the users domain as its user directory. */
function identityModules(config: AppConfig): DynamicModule[] {
  return [
    SessionModule.forRoot({ ...sessionOptions(config), isGlobal: true }),
    AuthModule.forRootAsync({
      imports: [UsersModule],
      inject: [UsersService],
      useFactory: (users: UsersService) => authOptions(config, users),
      isGlobal: true,
    }),
  ];
}

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
    // The root logger's options. The per-request line and the request id on the app's lines
    // come from RequestLogger (src/http/request-logger.ts), not from pino-http's middleware.
    const pinoOptions: Options = {
      level: config.logLevel,
      serializers: redactingSerializers,
    };
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot({
          pinoHttp: options.logStream ? [pinoOptions, options.logStream] : pinoOptions,
          // No middleware: configureApp attaches RequestLogger to the Node server instead
          // (LOG_REQUESTS=false: not at all; the app's own log lines are unchanged).
          forRoutes: [],
        }),
        RedisModule.forRoot(redisOptions(config)),
        DatabaseModule.forRoot(databaseOptions(config)),
        MetricsModule.forRoot(metricsOptions(config)),
        OpsModule.forRoot({ ...opsOptions(config), adminEndpoints: role !== 'worker' }),
        HttpModule,
        HealthModule,
        CacheModule.forRoot({ ...cacheOptions(config), isGlobal: true }),
        LockModule.forRoot({ isGlobal: true }),
        RateLimitModule.forRoot({ ...rateLimitOptions(config), isGlobal: true }),
        CountersModule.forRoot({
          counters: [PAGE_VIEWS],
          flush: role !== 'api',
          flushIntervalMs: config.counters.flushMs,
          isGlobal: true,
        }),
        MailModule.forRoot({
          ...mailOptions(config),
          isGlobal: true,
          // The development outbox endpoint: API processes outside production only.
          outboxEndpoint: role !== 'worker' && !config.isProduction,
        }),
        // Every role produces jobs; only worker and all run processors (BullMQ workers).
        QueueModule.forRoot({ ...queueOptions(config, role !== 'api'), isGlobal: true }),
        JobsModule.forRoot({ ...jobsOptions(config), controllers: role !== 'worker' }),
        realtimeModule(config, role),
        // Every role records activities; the worker and all roles fan them out; the API serves
        // them. Each new feed entry is pushed as a `feed` event through the realtime event stream.
        FeedModule.forRootAsync({
          imports: [FollowersGraphModule],
          inject: [FollowersService, RealtimeService],
          useFactory: (followers: FollowersService, realtime: RealtimeService) =>
            feedOptions(config, role !== 'api', (userId) => followers.list(userId), {
              publish: async (userId, entry) => {
                await realtime.toUser(userId, 'feed', entry, { id: `feed:${userId}:${entry.id}` });
              },
            }),
          controllers: role !== 'worker',
          isGlobal: true,
        }),
        ...(role === 'worker' ? [] : [...identityModules(config), ...API_MODULES]),
        ...(role === 'api' ? [] : WORKER_MODULES),
      ],
    };
  }
}
