// Typed commands for the scripts in ./lua (registered on the state client by SessionStore).
import 'ioredis';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** lua/session-read.lua: the session hash as a flat list, or null. */
    sessionRead(key: string, touchMs: number, idleMs: number): Result<string[] | null, Context>;
    /** lua/session-create.lua: [created at, absolute end] (ms, Redis clock). */
    sessionCreate(
      key: string,
      idleMs: number,
      absoluteMs: number,
      ...fields: string[]
    ): Result<[number, number], Context>;
  }
}
