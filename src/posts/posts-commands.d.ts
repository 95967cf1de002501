// Typed commands for the scripts in ./lua (registered on the cache client by RecentPostsCache).
import 'ioredis';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** lua/write-through-list.lua: [listUpdated, hashUpdated]. */
    writeThroughList(
      listKey: string,
      hashKey: string,
      element: string,
      cap: number,
      field: string,
      ttlMs: number,
    ): Result<[number, number], Context>;
  }
}
