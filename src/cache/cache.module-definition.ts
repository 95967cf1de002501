import { ConfigurableModuleBuilder, Type } from '@nestjs/common';
import type { CacheInterceptor } from './cache.interceptor';

/**
 * Options of {@link CacheModule}. Times in ms.
 *
 * @example
 * CacheModule.forRoot({ defaultTtlMs: 60_000, l1: { maxEntries: 10_000, ttlMs: 5_000 } })
 */
export interface CacheModuleOptions {
  /** Fresh time of an entry when the call gives no `ttl`. Default 60 s. */
  defaultTtlMs?: number;
  /**
   * In-memory L1 in front of Redis, kept coherent across instances by a broadcast. Off by
   * default. `ttlMs` caps how long an L1 entry lives (default 5 s).
   */
  l1?: { maxEntries: number; ttlMs?: number };
  /** How long a tag invalidation is remembered; also the longest an entry lives. Default 7 days. */
  tagTtlMs?: number;
  /** gzip values whose JSON is longer than this many bytes; 0 (default) never. */
  compressThresholdBytes?: number;
}

export type ResolvedCacheOptions = Required<Omit<CacheModuleOptions, 'l1'>> & {
  l1: { maxEntries: number; ttlMs: number };
};

export function resolveCacheOptions(o: CacheModuleOptions = {}): ResolvedCacheOptions {
  return {
    defaultTtlMs: o.defaultTtlMs ?? 60_000,
    l1: { maxEntries: o.l1?.maxEntries ?? 0, ttlMs: o.l1?.ttlMs ?? 5_000 },
    tagTtlMs: o.tagTtlMs ?? 7 * 86_400_000,
    compressThresholdBytes: o.compressThresholdBytes ?? 0,
  };
}

/** The resolved options (defaults filled in). */
export const CACHE_OPTIONS = 'CACHE:OPTIONS';
/** The interceptor that applies `@Cached` / `@CacheEvict` to routes (`CacheModule.forRoot({ interceptor })`). */
export const CACHE_INTERCEPTOR = 'CACHE:INTERCEPTOR';

export const {
  ConfigurableModuleClass: CacheConfigurableModule,
  MODULE_OPTIONS_TOKEN: CACHE_MODULE_OPTIONS,
} = new ConfigurableModuleBuilder<CacheModuleOptions>({ moduleName: 'Cache' })
  .setClassMethodName('forRoot')
  .setExtras(
    { isGlobal: false, interceptor: undefined as Type<CacheInterceptor> | undefined },
    (definition, extras) => ({
      ...definition,
      global: extras.isGlobal,
      // A subclass of CacheInterceptor (a later provider of a token wins): caller identity and
      // key naming your way on every @Cached route.
      providers: [
        ...(definition.providers ?? []),
        ...(extras.interceptor
          ? [{ provide: CACHE_INTERCEPTOR, useClass: extras.interceptor }]
          : []),
      ],
    }),
  )
  .build();
