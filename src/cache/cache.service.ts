import { Inject, Injectable, Logger, Optional, StreamableFile } from '@nestjs/common';
import { RateLimitedLogger, sleep } from '../common';
import { LockHandle, LockNotAcquiredError, LockService } from '../lock';
import { MetricsService } from '../metrics';
import type { CacheResult } from './cache.constants';
import { CACHE_OPTIONS, ResolvedCacheOptions } from './cache.module-definition';
import { shouldRefreshEarly } from './cache-expiry';
import { CacheL1, L1Change, L1Entry } from './cache-l1';
import { DATE_TAG_TEXT, deserialize, serialize } from './cache-serializer';
import { CacheRead, CacheStore } from './cache-store';
import {
  CacheEnvelope,
  CacheFetchResult,
  CacheLoadTimeoutError,
  CacheOptions,
  CacheResponse,
} from './cache.types';

/** How a load runs. */
interface LoadMode {
  /** The read just failed: load without the fleet lock and store nothing (fail open). */
  redisDown: boolean;
}

type FleetOutcome<T> = { found: true; value: T } | { found: false };

const DEFAULT_FLEET_LOCK_TTL_MS = 10_000;
const LOG_INTERVAL_MS = 10_000;

/**
 * Cache-aside on the `cache` Redis role with stampede protection:
 * - per-process singleflight: concurrent misses of one key share one loader call;
 * - XFetch early recomputation (Vattani et al., VLDB 2015) from δ and the fresh-until time
 *   stored beside the value (a hit is one plain GET);
 * - an optional fleet-wide recompute lock (`lock: true`, through `LockService`: needs
 *   `LockModule`, global);
 * - stale-while-revalidate and stale-if-error within `staleTtl`;
 * - tags as invalidation timestamps (O(1) invalidation, checked on read);
 * - an optional in-memory L1 (`CACHE_L1_MAX_ENTRIES` > 0) kept coherent by a pub/sub broadcast.
 *
 * This class decides (fetch, load, refresh, failure policy); Redis I/O is `CacheStore`'s, the
 * L1 tier and its broadcast are `CacheL1`'s.
 *
 * Failure policy: **fail open**. A Redis error or timeout falls through to the loader, is
 * counted (`cache_requests_total{result="error"}`) and logged at most once per 10 s.
 *
 * @example
 * const user = await cache.getOrSet('user:7', () => repo.findById(7), { cache: 'users', ttl: hours(1), tags: ['users'] });
 */
@Injectable()
export class CacheService {
  private readonly logger = new Logger('Cache');
  /** Fail-open warnings, at most one per 10 s whatever the operation. */
  private readonly failures = new RateLimitedLogger(this.logger, LOG_INTERVAL_MS);
  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly requests;
  private readonly loads;

  constructor(
    private readonly store: CacheStore,
    private readonly l1: CacheL1,
    @Inject(CACHE_OPTIONS) private readonly options: ResolvedCacheOptions,
    @Optional() metrics: MetricsService = MetricsService.standalone(),
    /** Only the fleet lock (`lock: true`) needs it; absent when LockModule is not global. */
    @Optional() private readonly locks?: LockService,
  ) {
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
  }

  get l1Enabled(): boolean {
    return this.l1.enabled;
  }

  /** The sharded pub/sub channel of L1 invalidations. */
  get channel(): string {
    return this.l1.channel;
  }

  /** The Redis key of a cache entry: `${prefix}:cache:${cache}:${key}` (key segments split on ':'). */
  entryKey(cache: string, key: string): string {
    return this.store.entryKey(cache, key);
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
    const r = await this.fetchEntry(key, this.entryKey(cache, key), cache, loader, options, false);
    return r as CacheFetchResult<T>;
  }

  /**
   * {@link fetch} for a response body (the `@Cached` interceptor). With `asText`, on a hit or a
   * stale answer whose value is stored as plain JSON (no Date in it), `json` is that stored
   * text, exactly `JSON.stringify(value)`, and `value` is not parsed; otherwise `value` is set
   * as in `fetch`. `k` is the entry key ({@link entryKey}) of `key` in `cache`.
   */
  fetchForResponse(
    key: string,
    k: string,
    cache: string,
    loader: () => Promise<unknown>,
    options: CacheOptions,
    asText: boolean,
  ): Promise<CacheResponse> {
    return this.fetchEntry(key, k, cache, loader, options, asText);
  }

  private async fetchEntry<T>(
    key: string,
    k: string,
    cache: string,
    loader: () => Promise<T> | T,
    options: CacheOptions,
    wantJson: boolean,
  ): Promise<CacheResponse<T>> {
    if (options.lock && !this.locks)
      throw new Error(
        `Cache "${key}": the fleet-wide recompute lock (lock: true) needs LockService; import LockModule.forRoot({ isGlobal: true }) beside CacheModule, or drop the lock option`,
      );

    const local = this.l1.get(k);
    if (local) {
      this.requests.inc({ cache, result: 'hit' });
      return wantJson && local.json !== undefined
        ? { json: local.json, result: 'hit' }
        : { value: l1Value(local) as T, result: 'hit' };
    }

    let read: CacheRead;
    try {
      read = await this.store.read(k, options.tags);
    } catch (err) {
      this.failOpen('read', err);
      // Counted before loading: a loader that throws is still a request that missed.
      this.requests.inc({ cache, result: 'error' });
      const value = await this.load(cache, k, loader, options, { redisDown: true });
      return { value, result: 'error' };
    }

    const env = read.envelope;
    if (env && read.freshLeft > 0) {
      const entry = await this.entryOf<T>(env, wantJson);
      if (shouldRefreshEarly(env.d, read.freshLeft, options.beta, Math.random)) {
        void this.refreshInBackground(cache, k, loader, options);
      } else {
        this.l1.set(k, { value: entry.value, json: entry.json, tags: env.t }, read.freshLeft);
      }
      this.requests.inc({ cache, result: 'hit' });
      return wantJson && entry.json !== undefined
        ? { json: entry.json, result: 'hit' }
        : { value: entry.value as T, result: 'hit' };
    }

    if (env) {
      // Stale, within the grace window: one refresh runs; callers get the stale value, or the
      // fresh one if it arrives within the soft timeout.
      const stale = await this.entryOf<T>(env, wantJson);
      const refresh = this.refreshInBackground(cache, k, loader, options);
      if (options.timeout && options.timeout > 0) {
        const fresh = await raceTimeout(refresh, options.timeout).catch(
          (): typeof TIMED_OUT => TIMED_OUT,
        );
        if (fresh !== TIMED_OUT)
          return this.recordRequest(cache, { value: fresh.value, result: 'miss' });
      }
      this.requests.inc({ cache, result: 'stale' });
      return wantJson && stale.json !== undefined
        ? { json: stale.json, result: 'stale' }
        : { value: stale.value as T, result: 'stale' };
    }

    this.requests.inc({ cache, result: 'miss' });
    return {
      value: await this.load(cache, k, loader, options, { redisDown: false }),
      result: 'miss',
    };
  }

  async get<T>(
    key: string,
    options: Pick<CacheOptions, 'cache' | 'tags'> = {},
  ): Promise<T | undefined> {
    const k = this.entryKey(options.cache ?? 'default', key);
    const local = this.l1.get(k);
    if (local) return l1Value(local) as T;
    try {
      const read = await this.store.read(k, options.tags);
      return read.envelope ? await this.store.decode<T>(read.envelope) : undefined;
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
    const write = { body, isNull: value === null, deltaMs, startedAt: Date.now() };
    await this.store
      .store(k, write, options, Math.random)
      .catch((err) => this.failOpen('set', err));
    await this.broadcast(cache, { keys: [k] });
  }

  /** Deletes keys everywhere: Redis, this instance's L1 and (broadcast) every other instance's L1. */
  async del(keys: string | string[], options: Pick<CacheOptions, 'cache'> = {}): Promise<void> {
    const cache = options.cache ?? 'default';
    const full = (Array.isArray(keys) ? keys : [keys]).map((key) => this.entryKey(cache, key));
    if (full.length === 0) return;
    // Fail open: the database write this eviction follows has already committed; a Redis
    // outage must not turn it into an error. The entry then lives until its TTL at most.
    // A tombstone, not a bare DEL: a load that began before this eviction is not stored.
    await this.store.tombstone(full).catch((err) => this.failOpen('del', err));
    await this.broadcast(cache, { keys: full });
  }

  /** Voids every entry carrying one of the tags, on every instance: O(1) per tag. */
  async invalidateTags(tags: string[], options: Pick<CacheOptions, 'cache'> = {}): Promise<void> {
    if (tags.length === 0) return;
    await this.store.invalidateTags(tags).catch((err) => this.failOpen('invalidateTags', err));
    await this.broadcast(options.cache ?? 'default', { tags });
  }

  /** Deletes every entry of a cache whose key starts with `prefix` (SCAN-based; for operators). */
  async deleteByPrefix(cache: string, prefix = ''): Promise<number> {
    const n = await this.store.deleteByPrefix(cache, prefix);
    await this.broadcast(cache, { all: true });
    return n;
  }

  /** Empties this instance's L1 (other instances keep theirs). */
  clearL1(): void {
    this.l1.clear();
  }

  // --- internals ------------------------------------------------------------------

  /** Drops the change from L1 here and broadcasts it; a failed publish fails open. */
  private async broadcast(cache: string, change: L1Change): Promise<void> {
    await this.l1.broadcast(cache, change).catch((err) => this.failOpen('publish', err));
  }

  private refreshInBackground<T>(
    cache: string,
    k: string,
    loader: () => Promise<T> | T,
    options: CacheOptions,
  ): Promise<{ done: true; value: T }> {
    const p = this.load(cache, k, loader, options, { redisDown: false }).then((value) => ({
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
    mode: LoadMode,
  ): Promise<T> {
    const existing = this.inflight.get(k) as Promise<T> | undefined;
    if (existing) return this.withHardTimeout(k, existing, options);
    const run = (async () => {
      try {
        if (options.lock && !mode.redisDown) {
          const fromFleet = await this.loadUnderFleetLock(cache, k, loader, options);
          if (fromFleet.found) return fromFleet.value;
        }
        return await this.loadAndStore(cache, k, loader, options, mode);
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
    mode: LoadMode,
  ): Promise<T> {
    const startedAt = Date.now();
    this.loads.inc({ cache });
    const value = await loader();
    const deltaMs = Date.now() - startedAt;
    if (value === undefined || mode.redisDown || isStream(value)) return value;
    const body = serialize(k, value);
    try {
      const write = { body, isNull: value === null, deltaMs, startedAt };
      const stored = await this.store.store(k, write, options, Math.random);
      if (stored && this.l1.enabled && value !== null)
        this.l1.set(
          k,
          // A copy, not the caller's object: plain JSON is kept as text (parsed on first use).
          body.includes(DATE_TAG_TEXT)
            ? { value: deserialize(body), tags: options.tags }
            : { json: body, tags: options.tags },
          options.ttl ?? this.options.defaultTtlMs,
        );
    } catch (err) {
      this.failOpen('store', err);
    }
    return value;
  }

  /**
   * Across the fleet, one instance loads a cold key: the one that takes the lock (LockService,
   * no wait). The others poll the entry until the holder has stored it and return that value;
   * they load it themselves (found: false) when the lock goes without a value, when `wait`
   * runs out, or when Redis fails (fail open). The lease is not extended: a load that outlives
   * the lock's `ttl` lets the waiters load too.
   */
  private async loadUnderFleetLock<T>(
    cache: string,
    k: string,
    loader: () => Promise<T> | T,
    options: CacheOptions,
  ): Promise<FleetOutcome<T>> {
    const locks = this.locks!; // checked in fetch()
    const lockOpts = typeof options.lock === 'object' ? options.lock : {};
    const ttl = lockOpts.ttl ?? DEFAULT_FLEET_LOCK_TTL_MS;
    const wait = lockOpts.wait ?? ttl;
    const resource = this.store.fleetLockResource(k);
    let handle: LockHandle | undefined;
    try {
      handle = await locks.acquire(resource, { ttl });
    } catch (err) {
      if (!(err instanceof LockNotAcquiredError)) {
        this.failOpen('fleet lock', err); // Redis unavailable: load it ourselves
        return { found: false };
      }
    }
    if (handle) {
      try {
        const value = await this.loadAndStore(cache, k, loader, options, { redisDown: false });
        return { found: true, value };
      } finally {
        await handle.release().catch(() => undefined);
      }
    }
    // Another instance is loading: wait for its value rather than load again.
    const deadline = Date.now() + wait;
    try {
      while (Date.now() < deadline) {
        await sleep(20 + Math.floor(Math.random() * 30));
        const read = await this.store.read(k, options.tags);
        if (read.envelope && read.freshLeft > 0)
          return { found: true, value: await this.store.decode<T>(read.envelope) };
        if (!(await locks.isHeld(resource))) break;
      }
    } catch (err) {
      this.failOpen('lock wait', err); // load it ourselves
    }
    return { found: false };
  }

  private withHardTimeout<T>(k: string, p: Promise<T>, options: CacheOptions): Promise<T> {
    if (!options.hardTimeout || options.hardTimeout <= 0) return p;
    return raceTimeout(p, options.hardTimeout).then((r) => {
      if (r === TIMED_OUT) throw new CacheLoadTimeoutError(k, options.hardTimeout!);
      return r;
    });
  }

  /**
   * An entry's value as a caller wants it: plain JSON (`env.p`) as its stored text when
   * `wantJson` (not parsed), else parsed (Dates revived when the text holds any); the text is
   * returned beside a parsed plain-JSON value too, for L1.
   */
  private async entryOf<T>(
    env: CacheEnvelope,
    wantJson: boolean,
  ): Promise<{ value?: T; json?: string }> {
    const text = env.z ? await this.store.text(env) : env.v;
    if (!env.p) return { value: deserialize<T>(text) };
    return wantJson ? { json: text } : { value: JSON.parse(text) as T, json: text };
  }

  /** Counts the request in `cache_requests_total{cache, result}` and returns the result as is. */
  private recordRequest<T>(cache: string, r: CacheFetchResult<T>): CacheFetchResult<T> {
    this.requests.inc({ cache, result: r.result satisfies CacheResult });
    return r;
  }

  private failOpen(op: string, err: unknown): void {
    this.failures.warn(
      `cache ${op} failed, serving from the source (fail open): ${(err as Error).message}`,
    );
  }
}

const TIMED_OUT = Symbol('timed out');

/**
 * A response body that is bytes, not data (a `StreamableFile`, a stream, a Buffer or typed
 * array): returned as it is and never stored, like `undefined`. Stored, it would come back as
 * the JSON of the object around the bytes, not the bytes.
 */
function isStream(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  return (
    value instanceof StreamableFile ||
    ArrayBuffer.isView(value) ||
    value instanceof ArrayBuffer ||
    typeof (value as { pipe?: unknown }).pipe === 'function'
  );
}

/** An L1 entry's value, parsed from its JSON text on first use. */
function l1Value(e: L1Entry): unknown {
  if (e.value === undefined && e.json !== undefined) e.value = JSON.parse(e.json);
  return e.value;
}

/** Resolves with the promise's value, or TIMED_OUT after `ms` (the promise keeps running). */
function raceTimeout<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<typeof TIMED_OUT>((r) => (timer = setTimeout(() => r(TIMED_OUT), ms))),
  ]).finally(() => clearTimeout(timer));
}
