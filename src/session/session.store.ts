import { Injectable, OnModuleInit } from '@nestjs/common';
import { join } from 'node:path';
import type { RedisClient } from '../redis';
import { CoalescedReads, defineScripts, InjectRedis, loadLuaScripts, RedisKeys } from '../redis';

/** A stored session, as the application sees it. Times in ms (Redis clock). */
export interface SessionRecord {
  /** Public id: a hash of the secret session id (the cookie holds the secret one). */
  id: string;
  userId?: number;
  email?: string;
  roles: string[];
  createdAt: number;
  lastSeenAt: number;
  /** The absolute end of the session. */
  expiresAt: number;
  userAgent?: string;
  ip?: string;
  data: Record<string, unknown>;
}

export interface NewSession {
  userId?: number;
  email?: string;
  roles?: string[];
  userAgent?: string;
  ip?: string;
  data?: Record<string, unknown>;
}

/**
 * Sessions on the `state` Redis role. A session is a hash keyed by its public id (a hash of the
 * secret id: a dump or MONITOR shows no usable cookie), expiring after the idle timeout (pushed
 * back at most once per touch interval by the touch script) and deleted at its absolute end. A
 * per-user sorted set (public id → absolute end) lists a user's sessions.
 */
@Injectable()
export class SessionStore implements OnModuleInit {
  private readonly keys: RedisKeys;
  /** Redis clock minus this process's clock, ms, as the touch script last measured it. */
  private clockOffsetMs = 0;
  /** Concurrent reads of one session share one HGETALL, always one sent after they arrived. */
  private readonly reads = new CoalescedReads<Record<string, string>>();

  constructor(
    @InjectRedis('state') private readonly redis: RedisClient,
    keys: RedisKeys,
  ) {
    this.keys = keys.namespace('sess');
  }

  onModuleInit(): void {
    defineScripts(this.redis, loadLuaScripts(join(__dirname, 'lua')));
  }

  key(id: string): string {
    return this.keys.tagged(id);
  }

  indexKey(userId: number): string {
    return this.keys.tagged(`u${userId}`, 'index');
  }

  /**
   * The session, or null when absent. One HGETALL per request: the key's TTL never outlives the
   * absolute end (create and touch set it to at most the time left), so an existing key is a
   * live session. When the last touch is a touch interval old, the touch script (Redis clock)
   * pushes the idle deadline back: one more round trip per session per touch interval. The app
   * judges "due" on its own clock corrected by the Redis-minus-app offset the script last
   * reported, so clock skew cannot turn every request into two round trips.
   *
   * Concurrent reads of one session are coalesced (CoalescedReads): a read waits for the next
   * HGETALL sent after it began, so a session destroyed before a request began is never
   * returned to it, and a burst of requests with one cookie costs one or two HGETALLs.
   */
  async read(
    id: string,
    touchMs: number,
    idleMs: number,
    /** `key(id)`, when the caller keeps it. */
    key = this.key(id),
  ): Promise<SessionRecord | null> {
    const fields = await this.reads.read(key, () => this.redis.hgetall(key));
    if (fields.a === undefined) return null;
    const record = parse(id, fields);
    if (Date.now() + this.clockOffsetMs - record.lastSeenAt < touchMs) return record;
    const localBefore = Date.now();
    const touched = await this.redis.sessionTouch(key, touchMs, idleMs);
    if (!touched) return null;
    const [redisNow, seen] = touched.map(Number);
    this.clockOffsetMs = redisNow - Math.round((localBefore + Date.now()) / 2);
    record.lastSeenAt = seen;
    return record;
  }

  async create(
    id: string,
    s: NewSession,
    idleMs: number,
    absoluteMs: number,
  ): Promise<SessionRecord> {
    const fields: string[] = ['r', (s.roles ?? []).join(',')];
    if (s.userId !== undefined) fields.push('u', String(s.userId));
    if (s.email !== undefined) fields.push('e', s.email);
    if (s.userAgent) fields.push('ua', s.userAgent.slice(0, 256));
    if (s.ip) fields.push('ip', s.ip.slice(0, 64));
    fields.push('d', JSON.stringify(s.data ?? {}));
    const [createdAt, expiresAt] = await this.redis.sessionCreate(
      this.key(id),
      idleMs,
      absoluteMs,
      ...fields,
    );
    if (s.userId !== undefined) {
      const index = this.indexKey(s.userId);
      await this.redis
        .multi()
        .zadd(index, expiresAt, id)
        .zremrangebyscore(index, '-inf', String(createdAt))
        .pexpire(index, absoluteMs)
        .exec();
    }
    return parse(id, {
      ...toFields(fields),
      c: String(createdAt),
      s: String(createdAt),
      a: String(expiresAt),
    });
  }

  /** Replaces the session's application data (only if the session still exists). */
  async setData(id: string, data: Record<string, unknown>): Promise<boolean> {
    const key = this.key(id);
    const [[, exists]] = (await this.redis
      .multi()
      .exists(key)
      .hset(key, 'd', JSON.stringify(data))
      .exec()) as [[null, number], [null, number]];
    if (!exists) await this.redis.del(key); // the HSET recreated a session that had ended
    return exists === 1;
  }

  async destroy(id: string, userId?: number): Promise<boolean> {
    const deleted = await this.redis.del(this.key(id));
    if (userId !== undefined) await this.redis.zrem(this.indexKey(userId), id);
    return deleted === 1;
  }

  /** A user's live sessions, oldest first; index entries whose session is gone are pruned. */
  async list(userId: number): Promise<SessionRecord[]> {
    const index = this.indexKey(userId);
    const [sec, micro] = await this.redis.time();
    const nowMs = Number(sec) * 1000 + Math.floor(Number(micro) / 1000);
    await this.redis.zremrangebyscore(index, '-inf', String(nowMs));
    const ids = await this.redis.zrange(index, '0', '-1');
    const records = await Promise.all(
      ids.map((id) => this.redis.hgetall(this.key(id)).then((h) => ({ id, h }))),
    );
    const gone = records.filter((r) => Object.keys(r.h).length === 0).map((r) => r.id);
    if (gone.length > 0) await this.redis.zrem(index, ...gone);
    return records
      .filter((r) => Object.keys(r.h).length > 0)
      .map((r) => parse(r.id, r.h))
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Every session id of a user (live or not yet pruned). */
  userSessionIds(userId: number): Promise<string[]> {
    return this.redis.zrange(this.indexKey(userId), '0', '-1');
  }
}

function toFields(flat: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) o[flat[i]] = flat[i + 1];
  return o;
}

/** A record from the hash's fields (not mutated: a coalesced read shares them). */
function parse(id: string, f: Record<string, string | undefined>): SessionRecord {
  let data: Record<string, unknown> = {};
  try {
    const parsed = f.d === undefined || f.d === '{}' ? {} : (JSON.parse(f.d) as unknown);
    if (parsed && typeof parsed === 'object') data = parsed as Record<string, unknown>;
  } catch {
    data = {};
  }
  return {
    id,
    userId: f.u !== undefined ? Number(f.u) : undefined,
    email: f.e,
    roles: f.r ? f.r.split(',').filter(Boolean) : [],
    createdAt: Number(f.c),
    lastSeenAt: Number(f.s),
    expiresAt: Number(f.a),
    userAgent: f.ua,
    ip: f.ip,
    data,
  };
}
