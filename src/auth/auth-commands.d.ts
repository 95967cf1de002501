// Typed commands for the scripts in ./lua (registered on the state client by TokenStore).
import 'ioredis';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** lua/refresh-rotate.lua: [1, familyEnd] rotated, [0] unknown, [2] concurrent duplicate, [3] reuse (family revoked). */
    refreshRotate(
      familyKey: string,
      familiesKey: string,
      presentedHash: string,
      replacementHash: string,
      graceMs: number,
      familyId: string,
    ): Result<[number, number?], Context>;
  }
}
