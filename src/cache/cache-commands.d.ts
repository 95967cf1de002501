// Typed commands for the scripts in ./lua (registered on the cache client by CacheService).
import 'ioredis';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** lua/cache-store.lua: 1 stored, 0 refused (the key was evicted after `startedMs`). */
    cacheStore(
      key: string,
      envelope: string,
      px: number,
      startedMs: number,
    ): Result<number, Context>;
  }
}
