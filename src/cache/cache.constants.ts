export const CACHED_METADATA = 'cache:cached';
export const CACHE_EVICT_METADATA = 'cache:evict';
export const CACHE_MODULE_OPTIONS = 'CACHE:MODULE_OPTIONS';

export type CacheResult = 'hit' | 'miss' | 'stale' | 'error';
