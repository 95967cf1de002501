import { Inject } from '@nestjs/common';
import { getRedisToken, RedisRole } from './redis.constants';

/**
 * Injects the shared command client of a role.
 *
 * @example
 * constructor(@InjectRedis('cache') private readonly redis: RedisClient) {}
 */
export const InjectRedis = (role: RedisRole = 'state'): ParameterDecorator & PropertyDecorator =>
  Inject(getRedisToken(role));
