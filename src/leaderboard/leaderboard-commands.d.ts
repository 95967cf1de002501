// Typed commands for the scripts in ./lua (registered on the state client by LeaderboardService).
import 'ioredis';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** lua/leaderboard-write.lua: [rank, score] or [-1] (board limit) or [-2] (board full). */
    leaderboardWrite(
      boardKey: string,
      registryKey: string,
      board: string,
      member: string,
      score: number,
      mode: 'set' | 'incr',
      maxBoards: number,
      maxEntries: number,
      idleTtlMs: number,
    ): Result<[number, string?], Context>;
  }
}
