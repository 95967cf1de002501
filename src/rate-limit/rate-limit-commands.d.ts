// Typed commands for the scripts in ./lua (registered on the state client by RedisThrottlerStorage).
import 'ioredis';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** lua/sliding-window.lua: [allowed, used, resetMs, retryAfterMs]. */
    slidingWindow(
      key: string,
      windowMs: number,
      limit: number,
      blockMs: number,
    ): Result<[number, number, number, number], Context>;
  }
}
