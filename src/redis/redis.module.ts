import { Global, Module } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.constants';
import type { AppConfig } from '../config/config.schema';
import { getRedisToken, REDIS_ROLES } from './redis.constants';
import { RedisKeys } from './redis-keys';
import { RedisService } from './redis.service';

/**
 * The global Redis module: one command client per role (`@InjectRedis('state' | 'cache')`),
 * dedicated connections through {@link RedisService.createDedicated}, and the app-wide
 * {@link RedisKeys}. Standalone, Sentinel or Cluster is decided by config alone.
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
      useFactory: (config: AppConfig) => new RedisKeys(config.redis.prefix),
      inject: [APP_CONFIG],
    },
  ],
  exports: [RedisService, RedisKeys, ...REDIS_ROLES.map((role) => getRedisToken(role))],
})
export class RedisModule {}
