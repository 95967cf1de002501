// Typed commands for the scripts in ./lua (registered on the state client by RedisThrottlerStorage).
import 'ioredis';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /**
     * lua/sliding-window.lua: [allowed (1/0), totalHits, resetMs, retryAfterMs, granted].
     * Times in ms; totalHits is limit + 1 when refused; granted is how many requests were
     * counted (1..reserve when allowed, 0 when refused).
     */
    slidingWindow(
      key: string,
      windowMs: number,
      limit: number,
      blockMs: number,
      peek?: '0' | '1',
      reserve?: number,
    ): Result<[number, number, number, number, number], Context>;
  }
}
