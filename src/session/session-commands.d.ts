// Typed commands for the scripts in ./lua (registered on the state client by SessionStore).
import 'ioredis';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** lua/session-touch.lua: [Redis time, last seen] (ms), or null when the session is over. */
    sessionTouch(
      key: string,
      touchMs: number,
      idleMs: number,
    ): Result<[number, number] | null, Context>;
    /** lua/session-create.lua: [created at, absolute end] (ms, Redis clock). */
    sessionCreate(
      key: string,
      idleMs: number,
      absoluteMs: number,
      ...fields: string[]
    ): Result<[number, number], Context>;
  }
}
