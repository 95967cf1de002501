import { DynamicModule, Module } from '@nestjs/common';
import { FeedController } from './feed.controller';
import { FeedFanout } from './feed-fanout';
import {
  FEED_ASYNC_OPTIONS_TYPE,
  FEED_OPTIONS_TYPE,
  FeedConfigurableModule,
} from './feed.module-definition';
import { FeedService } from './feed.service';

/**
 * The activity feed on Redis Streams: `FeedService` (record, read), the fan-out consumer
 * (`fanout: true`, the worker role) and, with the `controllers` extra (API role),
 * `GET /api/feed`. Needs `RedisModule` (role `state`); metrics go to `MetricsModule` when present. The controller needs
 * `AuthModule`.
 *
 * @example
 * FeedModule.forRootAsync({
 *   imports: [FollowersGraphModule],
 *   inject: [FollowersService],
 *   useFactory: (followers: FollowersService) => ({ followersOf: (id) => followers.list(id), fanout: true }),
 *   controllers: true,
 *   isGlobal: true,
 * })
 */
@Module({
  providers: [FeedService, FeedFanout],
  exports: [FeedService],
})
export class FeedModule extends FeedConfigurableModule {
  static override forRoot(options: typeof FEED_OPTIONS_TYPE): DynamicModule {
    return withControllers(super.forRoot(options), options.controllers);
  }

  static override forRootAsync(options: typeof FEED_ASYNC_OPTIONS_TYPE): DynamicModule {
    return withControllers(super.forRootAsync(options), options.controllers);
  }
}

function withControllers(module: DynamicModule, controllers?: boolean): DynamicModule {
  return controllers ? { ...module, controllers: [FeedController] } : module;
}
