import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { RedisRole, RedisService } from '../redis';
import { withDeadline } from './deadline';

/** Terminus indicator: PING on a role's client, answered within the readiness deadline (deadline.ts) whatever Redis does. */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    private readonly redis: RedisService,
    private readonly health: HealthIndicatorService,
  ) {}

  async isHealthy(role: RedisRole) {
    const key = `redis_${role}`;
    const indicator = this.health.check(key);
    const started = Date.now();
    try {
      const client = this.redis.client(role);
      if (client.status !== 'ready') {
        return indicator.down({
          connection: client.status,
          message: `redis ${role} connection is ${client.status}`,
        });
      }
      await withDeadline(client.ping());
      return indicator.up({ latencyMs: Date.now() - started });
    } catch (err) {
      return indicator.down({ message: (err as Error).message });
    }
  }
}
