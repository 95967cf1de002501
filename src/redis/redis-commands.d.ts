// Typed commands for the scripts in ./lua (registered by RedisModule on every command client).
import 'ioredis';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** lua/compare-and-delete.lua: DEL key when its value equals `expected`. 1 deleted, 0 not. */
    compareAndDelete(key: string, expected: string): Result<number, Context>;
  }
}
