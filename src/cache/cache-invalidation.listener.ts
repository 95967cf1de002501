import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { RedisService } from '../redis';
import type { RedisClient } from '../redis';
import { CacheL1 } from './cache-l1';

/**
 * Keeps this instance's L1 coherent: subscribes to the invalidation channel and applies other
 * instances' broadcasts. Pub/sub is at-most-once, so L1 is cleared whenever the subscriber
 * reconnects (messages may have been missed meanwhile) and whenever a sequence gap shows a lost
 * message; L1 entries also expire after CACHE_L1_TTL_MS. Only runs when L1 is on.
 */
@Injectable()
export class CacheInvalidationListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('CacheInvalidation');
  private sub?: RedisClient;
  private readonly lastSeq = new Map<string, number>();

  constructor(
    private readonly l1: CacheL1,
    private readonly redis: RedisService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.l1.enabled) return;
    const sub = this.redis.createDedicated('subscriber', 'cache-invalidation', 'cache');
    this.sub = sub;
    let readyOnce = false;
    sub.on('ready', () => {
      if (readyOnce) this.lost('the invalidation subscriber reconnected');
      readyOnce = true;
    });
    // On a Cluster the sharded subscriber connections are managed by a group: a lost one shows
    // as '-node' (broadcasts may be missed until it is back).
    sub.on('-node', () => this.lost('a sharded subscriber connection closed'));
    sub.on('smessage', (_channel: string, message: string) =>
      this.l1.applyRemote(message, this.lastSeq),
    );
    // Sharded pub/sub: publisher and subscriber meet at the channel's slot owner, so on a
    // Cluster an invalidation reaches this instance before the publisher's write returns, as on
    // a single node (a classic PUBLISH crosses the cluster bus asynchronously).
    await sub
      .ssubscribe(this.l1.channel)
      .catch((err: Error) =>
        this.logger.error(`cannot subscribe to cache invalidations: ${err.message}`),
      );
  }

  private lost(why: string): void {
    this.l1.clear();
    this.lastSeq.clear();
    this.logger.warn(`${why}: L1 cleared (broadcasts may have been missed)`);
  }

  async onApplicationShutdown(): Promise<void> {
    this.sub?.disconnect();
  }
}
