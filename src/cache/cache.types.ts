import type { CacheResult } from './cache.constants';

/** Options of one cached read. Times in milliseconds. */
export interface CacheOptions {
  /** Cache name: a namespace of keys and a metrics label (`users`). Default `default`. */
  cache?: string;
  /** How long the value is fresh. Default `CACHE_DEFAULT_TTL_MS` (60 s). */
  ttl?: number;
  /**
   * Grace after `ttl` during which the stale value is still served (stale-while-revalidate,
   * and stale-if-error when the loader fails) while one caller refreshes it. Default 0.
   */
  staleTtl?: number;
  /** Tags for group invalidation with `invalidateTags()`. */
  tags?: string[];
  /** Spread expiry of many keys: the TTL is shortened by up to this fraction (0–1), at random. Default 0. */
  jitter?: number;
  /** XFetch β: > 1 refreshes earlier, 0 turns early refresh off. Default 1. */
  beta?: number;
  /** TTL for a `null` result (negative caching). Default: `ttl`, at most 30 s. 0 → nulls are not cached. */
  negativeTtl?: number;
  /** Soft timeout: with a stale value at hand, answer it if the refresh takes longer than this (the refresh goes on). */
  timeout?: number;
  /** Hard timeout: stop waiting for the loader after this long and fail with CacheLoadTimeoutError (the load goes on and is stored). */
  hardTimeout?: number;
  /**
   * Fleet-wide recompute lock: across all instances, one loads a cold key while the others wait
   * for its value. Taken with `LockService` (needs `LockModule`, global), lease `ttl` (default
   * 10 s, not extended); the others wait at most `wait` (default `ttl`). Fails open.
   */
  lock?: boolean | { ttl?: number; wait?: number };
}

export interface CacheFetchResult<T> {
  value: T;
  result: CacheResult;
}

/**
 * What {@link CacheService.fetchForResponse} answers: `json`, the stored JSON text of the value
 * (exactly `JSON.stringify(value)`), or else `value`.
 */
export interface CacheResponse<T = unknown> {
  value?: T;
  json?: string;
  result: CacheResult;
}

/**
 * An entry: the value and what XFetch and tags need beside it. Stored as one line of JSON of
 * everything but `v`, a newline, then `v` as it is (`formatEnvelope` in cache-store.ts).
 */
export interface CacheEnvelope {
  /** the value (serialised JSON, or base64 gzip of it when `z` is set) */
  v: string;
  /** 1 when `v` is compressed (values over CACHE_COMPRESS_THRESHOLD_BYTES) */
  z?: 1;
  /** δ: how long the loader took, ms */
  d: number;
  /** when the load started (ms epoch): entries older than a tag invalidation are void */
  c: number;
  /** grace (staleTtl) included in the key's PTTL, ms */
  g: number;
  /**
   * fresh until (ms epoch, the writer's clock; the key outlives it by the grace): with it a read
   * is one plain GET, no PTTL. Entries written before it existed count as fresh until they expire.
   */
  e?: number;
  /** 1 when `v` holds no Date tag: it is parsed without a reviver (faster) */
  p?: 1;
  /** tags */
  t?: string[];
}

export class CacheLoadTimeoutError extends Error {
  constructor(key: string, ms: number) {
    super(`Loading "${key}" took longer than the hard timeout of ${ms} ms`);
    this.name = 'CacheLoadTimeoutError';
  }
}
