import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip as gunzipCb, gzip as gzipCb } from 'node:zlib';
import {
  isDisconnected,
  InjectRedis,
  RedisKeys,
  deleteByPattern,
  defineScripts,
  loadLuaScripts,
} from '../redis';
import type { RedisClient } from '../redis';
import { CACHE_OPTIONS, ResolvedCacheOptions } from './cache.module-definition';
import { jitteredTtl } from './cache-expiry';
import { DATE_TAG_TEXT, deserialize } from './cache-serializer';
import type { CacheEnvelope, CacheOptions } from './cache.types';

/** An entry as read from Redis. */
export interface CacheRead {
  /** Absent on a miss: no key, a tombstone, or voided by a tag invalidated after its load began. */
  envelope?: CacheEnvelope;
  /** Fresh time left, ms (≤ 0: stale, within the grace window). */
  freshLeft: number;
}

/** A loaded value, serialised, and when and how long its load ran. */
export interface CacheWrite {
  /** The serialised value (`serialize()`). */
  body: string;
  /** The value was `null`: stored for the negative TTL, without grace. */
  isNull: boolean;
  /** δ: how long the load took, ms (XFetch). */
  deltaMs: number;
  /** When the load began (ms epoch): a tombstone or tag invalidation newer than this wins. */
  startedAt: number;
}

/** Segments RedisKeys keeps as they are (`SAFE_PART` there), joined by ':'. */
const PLAIN_KEY = /^[A-Za-z0-9_.@=+-]{1,64}(?::[A-Za-z0-9_.@=+-]{1,64})*$/;
/** Cache names are few (one per `@Cached` cache); past this many, bases are not remembered. */
const MAX_BASES = 1_000;
const NEGATIVE_TTL_CAP = 30_000;
/** How long an eviction refuses stores of loads that began before it: longer than any sane load. */
const TOMBSTONE_TTL_MS = 30_000;
const gzip = promisify(gzipCb);
const gunzip = promisify(gunzipCb);

/**
 * The cache's Redis I/O: entry keys, the read (one GET: the envelope carries its fresh-until
 * time) with the tag check, the store script that refuses a load older than an eviction, tombstones, tag
 * timestamps, compression and prefix deletion. Entries live on the `cache` role, tag timestamps
 * on `state` (an evicted tag key would revive the entries it voided).
 *
 * Every method throws on a Redis error; {@link CacheService} decides the failure policy.
 */
@Injectable()
export class CacheStore implements OnModuleInit {
  private readonly keys: RedisKeys;
  private readonly tagKeys: RedisKeys;
  /** `${prefix}:cache:${cache}` by cache name. */
  private readonly bases = new Map<string, string>();

  constructor(
    @InjectRedis('cache') private readonly redis: RedisClient,
    @InjectRedis('state') private readonly state: RedisClient,
    @Inject(CACHE_OPTIONS) private readonly options: ResolvedCacheOptions,
    keys: RedisKeys,
  ) {
    this.keys = keys.namespace('cache');
    this.tagKeys = keys.namespace('cache-tag');
  }

  onModuleInit(): void {
    defineScripts(this.redis, loadLuaScripts(join(__dirname, 'lua')));
  }

  /** The Redis key of a cache entry: `${prefix}:cache:${cache}:${key}` (key segments split on ':'). */
  entryKey(cache: string, key: string): string {
    // The common case, a key whose segments are all short and plain, is the key itself after
    // the cache's base (what keys.key() makes of it, without splitting and testing each part).
    if (PLAIN_KEY.test(key)) {
      let base = this.bases.get(cache);
      if (base === undefined) {
        base = this.keys.key(cache);
        if (this.bases.size < MAX_BASES) this.bases.set(cache, base);
      }
      return `${base}:${key}`;
    }
    return this.keys.key(cache, ...key.split(':'));
  }

  /** The entry key without the app prefix (`cache:users:user:7`): the fleet lock's resource. */
  fleetLockResource(k: string): string {
    return k.slice(this.keys.prefix.length + 1);
  }

  /**
   * Reads an entry and its remaining lifetime; a tombstone, or an entry older than the last
   * invalidation of one of its tags (those given by the call, else those stored in it), is a miss.
   */
  async read(k: string, callTags?: string[]): Promise<CacheRead> {
    // Fail fast while disconnected: queued commands would wait for the command timeout.
    if (isDisconnected(this.redis)) throw new Error(`cache connection is ${this.redis.status}`);
    const tagsKnown = callTags !== undefined && callTags.length > 0;
    // One plain GET: the envelope carries its own fresh-until time (no PTTL, no script). The
    // call's tags, when it names any, are read beside it.
    const [raw, tagTimes] = tagsKnown
      ? await Promise.all([
          this.redis.get(k),
          this.state.mget(...callTags.map((t) => this.tagKey(t))),
        ])
      : [await this.redis.get(k), undefined];
    if (raw === null || raw.startsWith('!')) return { freshLeft: 0 };
    const envelope = parseEnvelope(raw);
    let times = tagTimes;
    if (!tagsKnown && envelope.t && envelope.t.length > 0) {
      times = await this.state.mget(...envelope.t.map((t) => this.tagKey(t)));
    }
    if (times?.some((t: string | null) => t !== null && Number(t) >= envelope.c))
      return { freshLeft: 0 };
    const freshLeft = envelope.e === undefined ? Number.MAX_SAFE_INTEGER : envelope.e - Date.now();
    return { envelope, freshLeft };
  }

  /** The value of an envelope (gunzipped when it was stored compressed). */
  async decode<T>(env: CacheEnvelope): Promise<T> {
    const text = await this.text(env);
    return env.p ? (JSON.parse(text) as T) : deserialize<T>(text);
  }

  /**
   * The value's serialised text as stored (gunzipped when it was stored compressed). With
   * `env.p` set it is exactly `JSON.stringify(value)`, so it can be sent as a response body
   * without parsing it.
   */
  async text(env: CacheEnvelope): Promise<string> {
    return env.z ? (await gunzip(Buffer.from(env.v, 'base64'))).toString() : env.v;
  }

  /**
   * Stores a loaded value for `ttl` (jittered; nulls: the negative TTL) plus `staleTtl` grace,
   * gzipped above the compression threshold. Resolves false when nothing was stored: a null
   * with a negative TTL of 0, or a load that began before the key's last eviction.
   */
  async store(
    k: string,
    write: CacheWrite,
    options: CacheOptions,
    random: () => number,
  ): Promise<boolean> {
    let ttl = options.ttl ?? this.options.defaultTtlMs;
    if (write.isNull) {
      ttl = options.negativeTtl ?? Math.min(ttl, NEGATIVE_TTL_CAP);
      if (ttl <= 0) return false;
    }
    ttl = jitteredTtl(ttl, options.jitter, random);
    const grace = write.isNull ? 0 : (options.staleTtl ?? 0);
    const threshold = this.options.compressThresholdBytes;
    const compress = threshold > 0 && Buffer.byteLength(write.body) > threshold;
    const px = Math.min(ttl + grace, this.options.tagTtlMs);
    const meta: Omit<CacheEnvelope, 'v'> = {
      ...(compress ? { z: 1 as const } : {}),
      ...(write.body.includes(DATE_TAG_TEXT) ? {} : { p: 1 as const }),
      d: write.deltaMs,
      c: write.startedAt,
      g: grace,
      e: Date.now() + px - grace,
      ...(options.tags?.length ? { t: options.tags } : {}),
    };
    const v = compress ? (await gzip(write.body)).toString('base64') : write.body;
    return (await this.redis.cacheStore(k, formatEnvelope(meta, v), px, write.startedAt)) === 1;
  }

  /**
   * Evicts entries with a short-lived tombstone instead of a bare DEL: a load that began before
   * this eviction (and so may hold the old value) is refused by the store script. Reads see a miss.
   */
  async tombstone(keys: string[]): Promise<void> {
    const tomb = `!${Date.now()}`;
    await Promise.all(keys.map((k) => this.redis.set(k, tomb, 'PX', TOMBSTONE_TTL_MS)));
  }

  /** Records now as the last invalidation of each tag: entries loaded before it are void. */
  async invalidateTags(tags: string[]): Promise<void> {
    const now = Date.now();
    const multi = this.state.multi();
    for (const tag of tags) multi.set(this.tagKey(tag), String(now), 'PX', this.options.tagTtlMs);
    await multi.exec();
  }

  /** Deletes every entry of a cache whose key starts with `prefix` (SCAN). Resolves with the count. */
  async deleteByPrefix(cache: string, prefix: string): Promise<number> {
    const base = this.entryKey(cache, 'x').slice(0, -1);
    const escaped = (base + prefix).replace(/[*?[\]\\]/g, '\\$&');
    return deleteByPattern(this.redis, `${escaped}*`);
  }

  private tagKey(tag: string): string {
    // One hash tag for all tag keys: a single MGET reads them on a Cluster.
    return this.tagKeys.tagged('tags', tag);
  }
}

/**
 * The stored form of an entry: one line of JSON metadata (δ, load start, grace, fresh-until,
 * flags, tags), a newline, then the value's text as it is (or its base64 gzip). JSON text never
 * holds a raw newline, so the first one ends the metadata; the value is neither escaped into a
 * JSON string nor parsed on read, and a hit can send it as the response body.
 */
export function formatEnvelope(meta: Omit<CacheEnvelope, 'v'>, v: string): string {
  return `${JSON.stringify(meta)}\n${v}`;
}

/**
 * Reads {@link formatEnvelope}'s form; an entry written before it (one JSON object with the
 * value as the string `v`, so no raw newline) is still read.
 */
export function parseEnvelope(raw: string): CacheEnvelope {
  const nl = raw.indexOf('\n');
  if (nl < 0) return JSON.parse(raw) as CacheEnvelope;
  const env = JSON.parse(raw.slice(0, nl)) as CacheEnvelope;
  env.v = raw.slice(nl + 1);
  return env;
}
