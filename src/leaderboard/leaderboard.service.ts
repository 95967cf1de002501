import { Injectable, OnModuleInit } from '@nestjs/common';
import { join } from 'node:path';
import { ConflictError } from '../common';
import { InjectConfig } from '../config';
import type { AppConfig } from '../config';
import type { RedisClient } from '../redis';
import { InjectRedis, RedisKeys, defineScripts, loadLuaScripts } from '../redis';

export interface RankedEntry {
  rank: number;
  member: string;
  score: number;
}

/**
 * Leaderboards as sorted sets on the `state` role: highest score first, rank 1-based.
 *
 * Any client may write to any board name, so boards are bounded: at most `maxBoards` exist at
 * once (a write that would create one more is refused), each keeps its top `maxEntries`
 * entries, and a board not written for `idleTtlMs` expires with its registry entry. Writes are
 * one script (bounds, write, rank and score together). All boards share the `{lb}` hash tag so
 * the script sees the registry and the board on one Cluster slot — like the followers graph,
 * that puts every board on one node, fine at these bounds.
 */
@Injectable()
export class LeaderboardService implements OnModuleInit {
  private readonly keys: RedisKeys;

  constructor(
    @InjectRedis('state') private readonly redis: RedisClient,
    keys: RedisKeys,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    this.keys = keys.namespace('lb');
  }

  onModuleInit(): void {
    defineScripts(this.redis, loadLuaScripts(join(__dirname, 'lua')));
  }

  key(board: string): string {
    return this.keys.tagged('lb', 'board', board);
  }

  registryKey(): string {
    return this.keys.tagged('lb', 'boards');
  }

  set(board: string, member: string, score: number): Promise<RankedEntry> {
    return this.write(board, member, score, 'set');
  }

  increment(board: string, member: string, by: number): Promise<RankedEntry> {
    return this.write(board, member, by, 'incr');
  }

  async top(board: string, n: number): Promise<RankedEntry[]> {
    const flat = await this.redis.zrevrange(this.key(board), 0, n - 1, 'WITHSCORES');
    const out: RankedEntry[] = [];
    for (let i = 0; i < flat.length; i += 2)
      out.push({ rank: i / 2 + 1, member: flat[i], score: Number(flat[i + 1]) });
    return out;
  }

  /** Rank and score in one round trip; null when the member is not on the board. */
  async member(board: string, member: string): Promise<RankedEntry | null> {
    const res = await this.redis
      .multi()
      .zrevrank(this.key(board), member)
      .zscore(this.key(board), member)
      .exec();
    const rank = res?.[0]?.[1] as number | null;
    const score = res?.[1]?.[1] as string | null;
    if (rank === null || rank === undefined || score === null || score === undefined) return null;
    return { rank: rank + 1, member, score: Number(score) };
  }

  private async write(
    board: string,
    member: string,
    value: number,
    mode: 'set' | 'incr',
  ): Promise<RankedEntry> {
    const { maxBoards, maxEntries, idleTtlMs } = this.config.leaderboard;
    const [rank, score] = await this.redis.leaderboardWrite(
      this.key(board),
      this.registryKey(),
      board,
      member,
      value,
      mode,
      maxBoards,
      maxEntries,
      idleTtlMs,
    );
    if (rank === -1) {
      throw new ConflictError(
        `there are already ${maxBoards} leaderboards, the most allowed: write to an existing board`,
        { board, limit: maxBoards },
      );
    }
    if (rank === -2) {
      throw new ConflictError(
        `board ${board} keeps its top ${maxEntries} entries and this score is not among them`,
        { board, limit: maxEntries },
      );
    }
    return { rank: rank + 1, member, score: Number(score) };
  }
}
