import { Global, Module } from '@nestjs/common';
import { getRedisToken, REDIS_ROLES } from './redis.constants';
import { RedisKeys } from './redis-keys';
import {
  REDIS_MODULE_OPTIONS,
  RedisConfigurableModule,
  RedisModuleOptions,
} from './redis.module-definition';
import { RedisService } from './redis.service';

/**
 * The global Redis module: one command client per role (`@InjectRedis('state' | 'cache')`),
 * dedicated connections through {@link RedisService.createDedicated}, and the app-wide
 * {@link RedisKeys}. Standalone, Sentinel or Cluster is decided by the options alone.
 *
 * @example
 * RedisModule.forRoot({ prefix: 'shop', state: { topology: { mode: 'standalone', url: 'redis://127.0.0.1:6379' } } })
 */
@Global()
@Module({
  providers: [
    RedisService,
    ...REDIS_ROLES.map((role) => ({
      provide: getRedisToken(role),
      useFactory: (redis: RedisService) => redis.client(role),
      inject: [RedisService],
    })),
    {
      provide: RedisKeys,
      useFactory: (options: RedisModuleOptions) => new RedisKeys(options.prefix),
      inject: [REDIS_MODULE_OPTIONS],
    },
  ],
  exports: [RedisService, RedisKeys, ...REDIS_ROLES.map((role) => getRedisToken(role))],
})
export class RedisModule extends RedisConfigurableModule {}
