// Typed commands for the scripts in ./lua (registered on the state client by LockService).
import 'ioredis';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** lua/lock-acquire.lua: fencing token (> 0) when acquired, 0 when held. */
    lockAcquire(
      key: string,
      fenceKey: string,
      token: string,
      ttlMs: number,
      fenceTtlMs: number,
    ): Result<number, Context>;
    /** lua/lock-extend.lua: 1 extended, 0 lost. */
    lockExtend(key: string, token: string, ttlMs: number): Result<number, Context>;
  }
}
