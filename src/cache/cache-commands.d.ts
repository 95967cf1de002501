// Typed commands for the scripts in ./lua (registered on the cache client by CacheService).
import 'ioredis';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** lua/cache-read.lua: [value | null, pttl]. */
    cacheRead(key: string): Result<[string | null, number], Context>;
  }
}
