import { Inject, Injectable } from '@nestjs/common';
import { InjectRedis, RedisClient, RedisKeys } from '../redis';
import { JOBS_MODULE_OPTIONS, JobsModuleOptions } from './jobs.module-definition';

export interface Notification {
  id: string;
  message: string;
  createdAt: string;
}

/** Notifications live for this long after the newest one. */
const NOTIFICATIONS_TTL_MS = 30 * 86_400_000;

/**
 * A user's notifications: a bounded list on the `state` role
 * (`<prefix>:notifications:<userId>`, newest first, capped, expiring 30 days after the last one).
 */
@Injectable()
export class NotificationsService {
  private readonly keys: RedisKeys;
  private readonly max: number;

  constructor(
    @InjectRedis('state') private readonly redis: RedisClient,
    keys: RedisKeys,
    @Inject(JOBS_MODULE_OPTIONS) options: JobsModuleOptions,
  ) {
    this.keys = keys.namespace('notifications');
    this.max = options.notificationsPerUser ?? 100;
  }

  /** Stores one (LPUSH + LTRIM + PEXPIRE in one MULTI). */
  async add(userId: number, n: Notification): Promise<void> {
    const key = this.keys.key(userId);
    await this.redis
      .multi()
      .lpush(key, JSON.stringify(n))
      .ltrim(key, 0, this.max - 1)
      .pexpire(key, NOTIFICATIONS_TTL_MS)
      .exec();
  }

  /** The newest `count` notifications of a user. */
  async list(userId: number, count = 50): Promise<Notification[]> {
    const items = await this.redis.lrange(this.keys.key(userId), 0, count - 1);
    return items.map((s) => JSON.parse(s) as Notification);
  }
}
