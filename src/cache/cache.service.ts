import { Inject, Injectable, Logger, OnModuleInit, Optional } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip as gunzipCb, gzip as gzipCb } from 'node:zlib';
import { MetricsService } from '../metrics';
import {
  isDisconnected,
  InjectRedis,
  RedisKeys,
  deleteByPattern,
  defineScripts,
  loadLuaScripts,
} from '../redis';
import type { RedisClient } from '../redis';
import type { CacheResult } from './cache.constants';
import { CACHE_OPTIONS, ResolvedCacheOptions } from './cache.module-definition';
import { deserialize, serialize } from './cache-serializer';
import {
  CacheEnvelope,
  CacheFetchResult,
  CacheLoadTimeoutError,
  CacheOptions,
} from './cache.types';

interface L1Entry {
  value: unknown;
  tags?: string[];
}

interface ReadOutcome {
  envelope?: CacheEnvelope;
  /** fresh time left, ms (≤ 0: stale, within grace) */
  freshLeft: number;
}

/** Published on the invalidation channel; `s` lets receivers notice lost messages. */
interface InvalidationMessage {
  o: string;
  s: number;
  k?: string[];
  t?: string[];
}

const NEGATIVE_TTL_CAP = 30_000;
/** How long an eviction refuses stores of loads that began before it: longer than any sane load. */
const TOMBSTONE_TTL_MS = 30_000;
const gzip = promisify(gzipCb);
const gunzip = promisify(gunzipCb);
const LOG_INTERVAL_MS = 10_000;

/**
 * Cache-aside on the `cache` Redis role with stampede protection:
 * - per-process singleflight: concurrent misses of one key share one loader call;
 * - XFetch early recomputation (Vattani et al., VLDB 2015) from δ stored beside the value and
 *   the PTTL read in the same round trip;
 * - an optional fleet-wide recompute lock (`lock: true`);
 * - stale-while-revalidate and stale-if-error within `staleTtl`;
 * - tags as invalidation timestamps (O(1) invalidation, checked on read);
 * - an optional in-memory L1 (`CACHE_L1_MAX_ENTRIES` > 0) kept coherent by a pub/sub broadcast.
 *
 * Failure policy: **fail open**. A Redis error or timeout falls through to the loader, is
 * counted (`cache_requests_total{result="error"}`) and logged at most once per 10 s.
 *
 * @example
 * const user = await cache.getOrSet('user:7', () => repo.findById(7), { cache: 'users', ttl: hours(1), tags: ['users'] });
 */
@Injectable()
export class CacheService implements OnModuleInit {
  private readonly logger = new Logger('Cache');
  private readonly keys: RedisKeys;
  private readonly tagKeys: RedisKeys;
  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly l1?: LRUCache<string, L1Entry>;
  private readonly instanceId = randomBytes(8).toString('hex');
  private seq = 0;
  private lastErrorLog = 0;
  readonly channel: string;
  /** Random source for XFetch and jitter; replaceable in tests. */
  random: () => number = Math.random;

  private readonly requests;
  private readonly loads;
  private readonly invalidations;

  constructor(
    @InjectRedis('cache') private readonly redis: RedisClient,
    @InjectRedis('state') private readonly state: RedisClient,
    @Inject(CACHE_OPTIONS) private readonly options: ResolvedCacheOptions,
    keys: RedisKeys,
    @Optional() metrics: MetricsService = MetricsService.standalone(),
  ) {
    this.keys = keys.namespace('cache');
    this.tagKeys = keys.namespace('cache-tag');
    this.channel = keys.namespace('cache').key('invalidations');
    const { maxEntries, ttlMs } = options.l1;
    if (maxEntries > 0)
      this.l1 = new LRUCache<string, L1Entry>({
        max: maxEntries,
        ttl: ttlMs,
        ttlAutopurge: false,
      });
    this.requests = metrics.counter({
      name: 'cache_requests_total',
      help: 'Cache reads by cache and result',
      labelNames: ['cache', 'result'],
    });
    this.loads = metrics.counter({
      name: 'cache_loads_total',
      help: 'Loader invocations by cache',
      labelNames: ['cache'],
    });
    this.invalidations = metrics.counter({
      name: 'cache_invalidations_total',
      help: 'Invalidations applied, by cache and source (local call or remote broadcast)',
      labelNames: ['cache', 'source'],
    });
  }

  onModuleInit(): void {
    defineScripts(this.redis, loadLuaScripts(join(__dirname, 'lua')));
  }

  get l1Enabled(): boolean {
    return this.l1 !== undefined;
  }

  /** The Redis key of a cache entry: `${prefix}:cache:${cache}:${key}` (key segments split on ':'). */
  entryKey(cache: string, key: string): string {
    return this.keys.key(cache, ...key.split(':'));
  }

  /**
   * Returns the cached value of `key`, or loads it with `loader`, stores it and returns it.
   * `undefined` from the loader is returned but never cached; `null` is cached for `negativeTtl`.
   */
  async getOrSet<T>(
    key: string,
    loader: () => Promise<T> | T,
    options: CacheOptions = {},
  ): Promise<T> {
    return (await this.fetch(key, loader, options)).value;
  }

  /** {@link getOrSet} that also says where the value came from (`hit`, `miss`, `stale`, `error`). */
  async fetch<T>(
    key: string,
    loader: () => Promise<T> | T,
    options: CacheOptions = {},
  ): Promise<CacheFetchResult<T>> {
    const cache = options.cache ?? 'default';
    const k = this.entryKey(cache, key);

    const local = this.l1?.get(k);
    if (local) return this.count(cache, { value: local.value as T, result: 'hit' });

    let read: ReadOutcome;
    try {
      read = await this.read(k, options.tags);
    } catch (err) {
      this.failOpen('read', err);
      // Counted before loading: a loader that throws is still a request that missed.
      this.requests.inc({ cache, result: 'error' });
      return { value: await this.load(cache, k, loader, options, true), result: 'error' };
    }

    const env = read.envelope;
    if (env && read.freshLeft > 0) {
      const value = await this.decode<T>(env);
      if (this.shouldRefreshEarly(env.d, read.freshLeft, options.beta)) {
        void this.refreshInBackground(cache, k, loader, options);
      } else {
        this.l1?.set(
          k,
          { value, tags: env.t },
          { ttl: Math.min(read.freshLeft, this.options.l1.ttlMs) },
        );
      }
      return this.count(cache, { value, result: 'hit' });
    }

    if (env) {
      // Stale, within the grace window: one refresh runs; callers get the stale value, or the
      // fresh one if it arrives within the soft timeout.
      const stale = await this.decode<T>(env);
      const refresh = this.refreshInBackground(cache, k, loader, options);
      if (options.timeout && options.timeout > 0) {
        const fresh = await raceTimeout(refresh, options.timeout).catch(
          (): typeof TIMED_OUT => TIMED_OUT,
        );
        if (fresh !== TIMED_OUT) return this.count(cache, { value: fresh.value, result: 'miss' });
      }
      return this.count(cache, { value: stale, result: 'stale' });
    }

    this.requests.inc({ cache, result: 'miss' });
    return { value: await this.load(cache, k, loader, options, false), result: 'miss' };
  }

  async get<T>(
    key: string,
    options: Pick<CacheOptions, 'cache' | 'tags'> = {},
  ): Promise<T | undefined> {
    const k = this.entryKey(options.cache ?? 'default', key);
    const local = this.l1?.get(k);
    if (local) return local.value as T;
    try {
      const read = await this.read(k, options.tags);
      return read.envelope ? await this.decode<T>(read.envelope) : undefined;
    } catch (err) {
      this.failOpen('get', err);
      return undefined;
    }
  }

  async mget<T>(
    keys: string[],
    options: Pick<CacheOptions, 'cache'> = {},
  ): Promise<(T | undefined)[]> {
    return Promise.all(keys.map((key) => this.get<T>(key, options)));
  }

  /** Stores a value (write-through). Throws CacheSerializationError for values JSON cannot hold. */
  async set<T>(key: string, value: T, options: CacheOptions = {}, deltaMs = 0): Promise<void> {
    const cache = options.cache ?? 'default';
    const k = this.entryKey(cache, key);
    const body = serialize(key, value);
    await this.store(k, body, value === null, options, deltaMs, Date.now()).catch((err) =>
      this.failOpen('set', err),
    );
    await this.broadcast(cache, [k], []);
  }

  /** Deletes keys everywhere: Redis, this instance's L1 and (broadcast) every other instance's L1. */
  async del(keys: string | string[], options: Pick<CacheOptions, 'cache'> = {}): Promise<void> {
    const cache = options.cache ?? 'default';
    const full = (Array.isArray(keys) ? keys : [keys]).map((key) => this.entryKey(cache, key));
    if (full.length === 0) return;
    // Fail open: the database write this eviction follows has already committed; a Redis
    // outage must not turn it into an error. The entry then lives until its TTL at most.
    // A short-lived tombstone instead of a bare DEL: a load that began before this eviction
    // (and so may hold the old value) is refused by the store script. Reads see a miss.
    const tomb = `!${Date.now()}`;
    await Promise.all(full.map((k) => this.redis.set(k, tomb, 'PX', TOMBSTONE_TTL_MS))).catch(
      (err) => this.failOpen('del', err),
    );
    await this.broadcast(cache, full, []);
  }

  /** Voids every entry carrying one of the tags, on every instance: O(1) per tag. */
  async invalidateTags(tags: string[], options: Pick<CacheOptions, 'cache'> = {}): Promise<void> {
    if (tags.length === 0) return;
    const now = Date.now();
    const multi = this.state.multi();
    for (const tag of tags) multi.set(this.tagKey(tag), String(now), 'PX', this.options.tagTtlMs);
    await multi.exec().catch((err) => this.failOpen('invalidateTags', err));
    await this.broadcast(options.cache ?? 'default', [], tags);
  }

  /** Deletes every entry of a cache whose key starts with `prefix` (SCAN-based; for operators). */
  async deleteByPrefix(cache: string, prefix = ''): Promise<number> {
    const base = this.entryKey(cache, 'x').slice(0, -1);
    const escaped = (base + prefix).replace(/[*?[\]\\]/g, '\\$&');
    const n = await deleteByPattern(this.redis, `${escaped}*`);
    this.l1?.clear();
    await this.broadcast(cache, [], [], true);
    return n;
  }

  // --- L1 coherence (called by CacheInvalidationListener) -------------------------------

  /** Applies a broadcast from another instance. Returns false when it was this instance's own. */
  applyRemote(raw: string, lastSeq: Map<string, number>): boolean {
    let msg: InvalidationMessage & { c?: string; all?: boolean };
    try {
      msg = JSON.parse(raw) as InvalidationMessage & { c?: string; all?: boolean };
    } catch {
      return false;
    }
    if (msg.o === this.instanceId) return false;
    const last = lastSeq.get(msg.o);
    lastSeq.set(msg.o, msg.s);
    if (!this.l1) return true;
    if ((last !== undefined && msg.s !== last + 1) || msg.all) {
      // A gap: a message was lost (pub/sub is at-most-once). Drop everything rather than serve stale.
      this.l1.clear();
    } else {
      for (const k of msg.k ?? []) this.l1.delete(k);
      if (msg.t?.length) this.dropTaggedFromL1(msg.t);
    }
    this.invalidations.inc({ cache: msg.c ?? 'default', source: 'remote' });
    return true;
  }

  clearL1(): void {
    this.l1?.clear();
  }

  // --- internals ------------------------------------------------------------------

  private tagKey(tag: string): string {
    // One hash tag for all tag keys: a single MGET reads them on a Cluster.
    return this.tagKeys.tagged('tags', tag);
  }

  private async read(k: string, callTags?: string[]): Promise<ReadOutcome> {
    // Fail fast while disconnected: queued commands would wait for the command timeout.
    if (isDisconnected(this.redis)) throw new Error(`cache connection is ${this.redis.status}`);
    const tagsKnown = callTags && callTags.length > 0;
    const [entry, tagTimes] = await Promise.all([
      this.redis.cacheRead(k),
      tagsKnown
        ? this.state.mget(...callTags.map((t) => this.tagKey(t)))
        : Promise.resolve(undefined),
    ]);
    const [raw, pttl] = entry;
    if (raw === null || pttl === -2 || raw.startsWith('!')) return { freshLeft: 0 };
    const envelope = JSON.parse(raw) as CacheEnvelope;
    let times = tagTimes;
    if (!tagsKnown && envelope.t && envelope.t.length > 0) {
      times = await this.state.mget(...envelope.t.map((t) => this.tagKey(t)));
    }
    if (times?.some((t: string | null) => t !== null && Number(t) >= envelope.c))
      return { freshLeft: 0 };
    const freshLeft = pttl < 0 ? Number.MAX_SAFE_INTEGER : pttl - envelope.g;
    return { envelope, freshLeft };
  }

  /** XFetch: refresh early when −δ·β·ln(u) ≥ remaining fresh time, u ∈ (0, 1]. */
  shouldRefreshEarly(deltaMs: number, freshLeftMs: number, beta = 1): boolean {
    if (beta <= 0 || deltaMs <= 0) return false;
    const u = 1 - this.random();
    return -deltaMs * beta * Math.log(u) >= freshLeftMs;
  }

  private refreshInBackground<T>(
    cache: string,
    k: string,
    loader: () => Promise<T> | T,
    options: CacheOptions,
  ): Promise<{ done: true; value: T }> {
    const p = this.load(cache, k, loader, options, false).then((value) => ({
      done: true as const,
      value,
    }));
    p.catch((err) =>
      this.logger.warn(
        `background refresh of ${k} failed (the stale value stays): ${(err as Error).message}`,
      ),
    );
    return p;
  }

  /** Singleflight: one loader call per key in this process, however many callers wait. */
  private load<T>(
    cache: string,
    k: string,
    loader: () => Promise<T> | T,
    options: CacheOptions,
    redisDown: boolean,
  ): Promise<T> {
    const existing = this.inflight.get(k) as Promise<T> | undefined;
    if (existing) return this.withHardTimeout(k, existing, options);
    const run = (async () => {
      try {
        if (options.lock && !redisDown) {
          const fromFleet = await this.loadUnderFleetLock(cache, k, loader, options);
          if (fromFleet.found) return fromFleet.value;
        }
        return await this.loadAndStore(cache, k, loader, options, redisDown);
      } finally {
        this.inflight.delete(k);
      }
    })();
    this.inflight.set(k, run);
    return this.withHardTimeout(k, run, options);
  }

  private async loadAndStore<T>(
    cache: string,
    k: string,
    loader: () => Promise<T> | T,
    options: CacheOptions,
    redisDown: boolean,
  ): Promise<T> {
    const started = Date.now();
    this.loads.inc({ cache });
    const value = await loader();
    const delta = Date.now() - started;
    if (value === undefined || redisDown) return value;
    const body = serialize(k, value);
    try {
      const stored = await this.store(k, body, value === null, options, delta, started);
      if (stored && this.l1 && value !== null)
        this.l1.set(
          k,
          { value: deserialize(body), tags: options.tags },
          {
            ttl: Math.min(options.ttl ?? this.options.defaultTtlMs, this.options.l1.ttlMs),
          },
        );
    } catch (err) {
      this.failOpen('store', err);
    }
    return value;
  }

  private async loadUnderFleetLock<T>(
    cache: string,
    k: string,
    loader: () => Promise<T> | T,
    options: CacheOptions,
  ): Promise<{ found: true; value: T } | { found: false }> {
    const lockOpts = typeof options.lock === 'object' ? options.lock : {};
    const ttl = lockOpts.ttl ?? 10_000;
    const wait = lockOpts.wait ?? ttl;
    const lockKey = `${k}:lock`;
    const token = randomBytes(16).toString('hex');
    const acquired =
      (await this.redis.set(lockKey, token, 'PX', ttl, 'NX').catch(() => null)) === 'OK';
    if (!acquired && isDisconnected(this.redis)) return { found: false };
    if (acquired) {
      try {
        return { found: true, value: await this.loadAndStore(cache, k, loader, options, false) };
      } finally {
        await this.redis.compareAndDelete(lockKey, token).catch(() => undefined);
      }
    }
    // Another instance is loading: wait for its value rather than load again.
    const deadline = Date.now() + wait;
    try {
      while (Date.now() < deadline) {
        await sleep(20 + Math.floor(this.random() * 30));
        const read = await this.read(k, options.tags);
        if (read.envelope && read.freshLeft > 0)
          return { found: true, value: await this.decode<T>(read.envelope) };
        if ((await this.redis.exists(lockKey)) === 0) break;
      }
    } catch (err) {
      this.failOpen('lock wait', err); // load it ourselves
    }
    return { found: false };
  }

  private async store(
    k: string,
    body: string,
    isNull: boolean,
    options: CacheOptions,
    delta: number,
    started: number,
  ): Promise<boolean> {
    let ttl = options.ttl ?? this.options.defaultTtlMs;
    if (isNull) {
      ttl = options.negativeTtl ?? Math.min(ttl, NEGATIVE_TTL_CAP);
      if (ttl <= 0) return false;
    }
    if (options.jitter && options.jitter > 0)
      ttl = Math.max(1, Math.round(ttl * (1 - Math.min(options.jitter, 1) * this.random())));
    const grace = isNull ? 0 : (options.staleTtl ?? 0);
    const threshold = this.options.compressThresholdBytes;
    const compress = threshold > 0 && Buffer.byteLength(body) > threshold;
    const envelope: CacheEnvelope = {
      v: compress ? (await gzip(body)).toString('base64') : body,
      ...(compress ? { z: 1 as const } : {}),
      d: delta,
      c: started,
      g: grace,
      ...(options.tags?.length ? { t: options.tags } : {}),
    };
    const px = Math.min(ttl + grace, this.options.tagTtlMs);
    return (await this.redis.cacheStore(k, JSON.stringify(envelope), px, started)) === 1;
  }

  private async decode<T>(env: CacheEnvelope): Promise<T> {
    return deserialize<T>(env.z ? (await gunzip(Buffer.from(env.v, 'base64'))).toString() : env.v);
  }

  private async broadcast(
    cache: string,
    keys: string[],
    tags: string[],
    all = false,
  ): Promise<void> {
    for (const k of keys) this.l1?.delete(k);
    if (tags.length) this.dropTaggedFromL1(tags);
    this.invalidations.inc({ cache, source: 'local' });
    const msg = {
      o: this.instanceId,
      s: ++this.seq,
      c: cache,
      ...(keys.length ? { k: keys } : {}),
      ...(tags.length ? { t: tags } : {}),
      ...(all ? { all } : {}),
    };
    await this.redis
      .spublish(this.channel, JSON.stringify(msg))
      .catch((err) => this.failOpen('publish', err));
  }

  private dropTaggedFromL1(tags: string[]): void {
    if (!this.l1) return;
    const set = new Set(tags);
    for (const [k, e] of this.l1.entries()) if (e.tags?.some((t) => set.has(t))) this.l1.delete(k);
  }

  private withHardTimeout<T>(k: string, p: Promise<T>, options: CacheOptions): Promise<T> {
    if (!options.hardTimeout || options.hardTimeout <= 0) return p;
    return raceTimeout(p, options.hardTimeout).then((r) => {
      if (r === TIMED_OUT) throw new CacheLoadTimeoutError(k, options.hardTimeout!);
      return r;
    });
  }

  private count<T>(cache: string, r: CacheFetchResult<T>): CacheFetchResult<T> {
    this.requests.inc({ cache, result: r.result satisfies CacheResult });
    return r;
  }

  private failOpen(op: string, err: unknown): void {
    const now = Date.now();
    if (now - this.lastErrorLog > LOG_INTERVAL_MS) {
      this.lastErrorLog = now;
      this.logger.warn(
        `cache ${op} failed, serving from the source (fail open): ${(err as Error).message}`,
      );
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const TIMED_OUT = Symbol('timed out');

/** Resolves with the promise's value, or TIMED_OUT after `ms` (the promise keeps running). */
function raceTimeout<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<typeof TIMED_OUT>((r) => (timer = setTimeout(() => r(TIMED_OUT), ms))),
  ]).finally(() => clearTimeout(timer));
}
