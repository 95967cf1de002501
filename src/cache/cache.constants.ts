export const CACHED_METADATA = 'cache:cached';
export const CACHE_EVICT_METADATA = 'cache:evict';

export type CacheResult = 'hit' | 'miss' | 'stale' | 'error';
