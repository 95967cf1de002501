// Typed commands for the scripts in ./lua (registered on the state client by RedisThrottlerStorage).
import 'ioredis';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /**
     * lua/sliding-window.lua: [allowed (1/0), totalHits, resetMs, retryAfterMs].
     * Times in ms; totalHits is limit + 1 when refused.
     */
    slidingWindow(
      key: string,
      windowMs: number,
      limit: number,
      blockMs: number,
      peek?: '1',
    ): Result<[number, number, number, number], Context>;
  }
}
