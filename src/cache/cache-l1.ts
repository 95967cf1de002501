import { Inject, Injectable, Optional } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { randomBytes } from 'node:crypto';
import { MetricsService } from '../metrics';
import { InjectRedis, RedisKeys } from '../redis';
import type { RedisClient } from '../redis';
import { CACHE_OPTIONS, ResolvedCacheOptions } from './cache.module-definition';

/**
 * An L1 entry: the value, or its JSON text (`json`: exactly `JSON.stringify(value)`, parsed on
 * first use, sent as it is by a byte-served hit), and the tags it was stored with (a tag
 * invalidation drops it). At least one of `value` and `json` is set.
 */
export interface L1Entry {
  value?: unknown;
  json?: string;
  tags?: string[];
}

/** What an invalidation voids: entry keys, tags, or (`all`) everything. */
export interface L1Change {
  keys?: string[];
  tags?: string[];
  all?: boolean;
}

/** Published on the invalidation channel; `s` lets receivers notice lost messages. */
interface InvalidationMessage {
  /** the publishing instance */
  o: string;
  /** its sequence number, +1 per message */
  s: number;
  /** cache name (metrics label) */
  c?: string;
  k?: string[];
  t?: string[];
  all?: boolean;
}

/**
 * The in-memory L1 tier (on when `l1.maxEntries` > 0) and what keeps it coherent across the
 * fleet: every local invalidation is dropped here and broadcast over sharded pub/sub
 * (`SPUBLISH`); {@link CacheInvalidationListener} hands other instances' broadcasts to
 * {@link applyRemote}. Entries never outlive `l1.ttlMs`. With L1 off, `get` misses and `set` does
 * nothing, but invalidations are still broadcast (other instances may have L1 on).
 */
@Injectable()
export class CacheL1 {
  /** The sharded pub/sub channel of invalidations: `${prefix}:cache:invalidations`. */
  readonly channel: string;
  private readonly lru?: LRUCache<string, L1Entry>;
  private readonly ttlMs: number;
  private readonly instanceId = randomBytes(8).toString('hex');
  private seq = 0;
  private readonly invalidations;

  constructor(
    @InjectRedis('cache') private readonly redis: RedisClient,
    @Inject(CACHE_OPTIONS) options: ResolvedCacheOptions,
    keys: RedisKeys,
    @Optional() metrics: MetricsService = MetricsService.standalone(),
  ) {
    this.channel = keys.namespace('cache').key('invalidations');
    const { maxEntries, ttlMs } = options.l1;
    this.ttlMs = ttlMs;
    if (maxEntries > 0)
      this.lru = new LRUCache<string, L1Entry>({
        max: maxEntries,
        ttl: ttlMs,
        ttlAutopurge: false,
      });
    this.invalidations = metrics.counter({
      name: 'cache_invalidations_total',
      help: 'Invalidations applied, by cache and source (local call or remote broadcast)',
      labelNames: ['cache', 'source'],
    });
  }

  get enabled(): boolean {
    return this.lru !== undefined;
  }

  get(k: string): L1Entry | undefined {
    return this.lru?.get(k);
  }

  /** Keeps an entry for `ttlMs`, at most `l1.ttlMs`. Does nothing with L1 off. */
  set(k: string, entry: L1Entry, ttlMs: number): void {
    this.lru?.set(k, entry, { ttl: Math.min(ttlMs, this.ttlMs) });
  }

  clear(): void {
    this.lru?.clear();
  }

  /**
   * Applies an invalidation made on this instance: drops it from this L1 at once, counts it,
   * and publishes it so every other instance drops its copies. Rejects when the publish fails
   * (the caller's failure policy decides).
   */
  async broadcast(cache: string, change: L1Change): Promise<void> {
    const { keys = [], tags = [], all = false } = change;
    this.drop(change);
    this.invalidations.inc({ cache, source: 'local' });
    const msg: InvalidationMessage = {
      o: this.instanceId,
      s: ++this.seq,
      c: cache,
      ...(keys.length ? { k: keys } : {}),
      ...(tags.length ? { t: tags } : {}),
      ...(all ? { all } : {}),
    };
    await this.redis.spublish(this.channel, JSON.stringify(msg));
  }

  /**
   * Applies a broadcast received on the channel. Returns false when it was this instance's own
   * (or not a broadcast). `lastSeq` is the receiver's memory of each sender's sequence: a gap
   * means a lost message (pub/sub is at-most-once), and L1 is dropped whole rather than serve stale.
   */
  applyRemote(raw: string, lastSeq: Map<string, number>): boolean {
    let msg: InvalidationMessage;
    try {
      msg = JSON.parse(raw) as InvalidationMessage;
    } catch {
      return false;
    }
    if (msg.o === this.instanceId) return false;
    const last = lastSeq.get(msg.o);
    lastSeq.set(msg.o, msg.s);
    if (!this.lru) return true;
    const gap = last !== undefined && msg.s !== last + 1;
    this.drop(gap ? { all: true } : { keys: msg.k, tags: msg.t, all: msg.all });
    this.invalidations.inc({ cache: msg.c ?? 'default', source: 'remote' });
    return true;
  }

  private drop({ keys = [], tags = [], all = false }: L1Change): void {
    if (!this.lru) return;
    if (all) {
      this.lru.clear();
      return;
    }
    for (const k of keys) this.lru.delete(k);
    if (tags.length === 0) return;
    const set = new Set(tags);
    for (const [k, e] of this.lru.entries())
      if (e.tags?.some((t) => set.has(t))) this.lru.delete(k);
  }
}
