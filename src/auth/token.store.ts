import { Injectable, OnModuleInit } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { RedisClient } from '../redis';
import { CoalescedReads, defineScripts, InjectRedis, loadLuaScripts, RedisKeys } from '../redis';

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

export type RotateResult =
  { outcome: 'rotated'; familyEnd: number } | { outcome: 'unknown' | 'duplicate' | 'reused' };

/**
 * Token state on the `state` Redis role, every key of a user under one hash tag (`{u<id>}`), so
 * what one request checks is one MGET and what one change writes is one slot:
 * - `auth:{u<id>}:jti:<jti>` — a revoked access token, until its own expiry;
 * - `auth:{u<id>}:cutoff` — "revoked before": access tokens issued earlier are refused;
 * - `auth:{u<id>}:rt:<family>` — a refresh-token family (hashes of its valid and previous token);
 * - `auth:{u<id>}:families` — the user's families, for log-out-everywhere.
 * No raw token is ever a key or a value.
 */
@Injectable()
export class TokenStore implements OnModuleInit {
  private readonly keys: RedisKeys;
  /** Concurrent checks of one token share one MGET, always one sent after they arrived. */
  private readonly checks = new CoalescedReads<boolean>();

  constructor(
    @InjectRedis('state') private readonly redis: RedisClient,
    keys: RedisKeys,
  ) {
    this.keys = keys.namespace('auth');
  }

  onModuleInit(): void {
    defineScripts(this.redis, loadLuaScripts(join(__dirname, 'lua')));
  }

  private tag(userId: number): string {
    return `u${userId}`;
  }
  jtiKey(userId: number, jti: string): string {
    return this.keys.tagged(this.tag(userId), 'jti', jti);
  }
  cutoffKey(userId: number): string {
    return this.keys.tagged(this.tag(userId), 'cutoff');
  }
  familyKey(userId: number, family: string): string {
    return this.keys.tagged(this.tag(userId), 'rt', family);
  }
  familiesKey(userId: number): string {
    return this.keys.tagged(this.tag(userId), 'families');
  }

  /**
   * Whether an access token is revoked: by its id, or by the user's cut-off. One MGET (both keys
   * share the user's slot), coalesced: concurrent checks of the same token wait for the next
   * MGET sent after they arrived (CoalescedReads), so a revocation that completed before a check
   * began is always seen, and a burst of requests with one token costs one or two MGETs.
   */
  isRevoked(userId: number, jti: string, issuedAtMs: number): Promise<boolean> {
    return this.revocationCheck(userId, jti, issuedAtMs)();
  }

  /**
   * `isRevoked` for one token, as a function to call per request: its keys (and the read) are
   * built once, so a caller that keeps it per verified token (AuthService) does not rebuild them
   * on every request. Every call is a fresh coalesced check, exactly as `isRevoked`: nothing of
   * an answer is kept.
   */
  revocationCheck(userId: number, jti: string, issuedAtMs: number): () => Promise<boolean> {
    const jtiKey = this.jtiKey(userId, jti);
    const cutoffKey = this.cutoffKey(userId);
    // Coalesced per token (its jti) and issue time: callers sharing a read share its answer.
    const coalesceKey = `${jtiKey} ${issuedAtMs}`;
    const read = (): Promise<boolean> =>
      this.redis
        .mget(jtiKey, cutoffKey)
        .then(
          ([revoked, cutoff]) =>
            revoked !== null || (cutoff !== null && issuedAtMs < Number(cutoff)),
        );
    return () => this.checks.read(coalesceKey, read);
  }

  /** Revokes one access token until its expiry (epoch seconds). */
  async revokeAccessToken(userId: number, jti: string, expS: number): Promise<void> {
    await this.redis.set(this.jtiKey(userId, jti), '1', 'EXAT', Math.max(expS, 1) + 1);
  }

  async createFamily(userId: number, family: string, token: string, ttlMs: number): Promise<void> {
    const key = this.familyKey(userId, family);
    const families = this.familiesKey(userId);
    const end = Date.now() + ttlMs;
    await this.redis
      .multi()
      .hset(key, 'cur', tokenHash(token), 'prev', '', 'rot', '0', 'exp', String(end))
      .pexpire(key, ttlMs)
      .sadd(families, family)
      .pexpire(families, ttlMs, 'GT')
      .pexpire(families, ttlMs, 'NX')
      .exec();
  }

  async rotate(
    userId: number,
    family: string,
    presented: string,
    replacement: string,
    graceMs: number,
  ): Promise<RotateResult> {
    const [code, end] = await this.redis.refreshRotate(
      this.familyKey(userId, family),
      this.familiesKey(userId),
      tokenHash(presented),
      tokenHash(replacement),
      graceMs,
      family,
    );
    if (code === 1) return { outcome: 'rotated', familyEnd: Number(end) };
    return { outcome: code === 2 ? 'duplicate' : code === 3 ? 'reused' : 'unknown' };
  }

  async revokeFamily(userId: number, family: string): Promise<void> {
    await this.redis
      .multi()
      .del(this.familyKey(userId, family))
      .srem(this.familiesKey(userId), family)
      .exec();
  }

  /**
   * Log out everywhere, for tokens: access tokens issued before `nowMs` are refused (kept for
   * the longest an access token lives) and every refresh family is revoked, in one MULTI.
   */
  async revokeAll(userId: number, nowMs: number, accessTtlMs: number): Promise<number> {
    const families = await this.redis.smembers(this.familiesKey(userId));
    const multi = this.redis
      .multi()
      .set(this.cutoffKey(userId), String(nowMs), 'PX', accessTtlMs + 60_000);
    for (const f of families) multi.del(this.familyKey(userId, f));
    multi.del(this.familiesKey(userId));
    await multi.exec();
    return families.length;
  }
}
