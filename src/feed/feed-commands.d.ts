// Typed commands for the scripts in ./lua (registered on the state client by FeedService).
import 'ioredis';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** lua/feed-append.lua: the new entry id, or null when the source is already in the feed. */
    feedAppend(
      feedKey: string,
      sourcesKey: string,
      maxLen: number,
      sourceId: string,
      sourceMs: number,
      forgetBeforeMs: number,
      maxSources: number,
      ...fields: string[]
    ): Result<string | null, Context>;
  }
}
