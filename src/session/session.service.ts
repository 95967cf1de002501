import { Inject, Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { AppError } from '../common';
import { HttpContext } from '../http';
import {
  newSessionSecret,
  publicSessionId,
  readCookie,
  serializeCookie,
  signCookieValue,
  verifyCookieValue,
} from './session-cookie';
import { ResolvedSessionOptions, SESSION_OPTIONS } from './session.module-definition';
import { NewSession, SessionRecord, SessionStore } from './session.store';

/** The session of the request being handled (or `null`), loaded once per request. */
export const REQUEST_SESSION = Symbol('session:current');

type RequestWithSession = IncomingMessage & { [REQUEST_SESSION]?: Promise<SessionRecord | null> };

/** Sessions of a user that just ended (logout, revocation, log-out-everywhere). */
export interface SessionsEnded {
  userId: number;
  sessionIds: string[];
}

/** Verified cookie values kept per instance (value → public id); the oldest go first past this. */
const VERIFIED_COOKIES_MAX = 10_000;

/** A verified cookie value's session: public id and Redis key. */
interface VerifiedCookie {
  id: string;
  /** `SessionStore.key(id)`. */
  key: string;
}

export type SessionsEndedListener = (ended: SessionsEnded) => Promise<void> | void;

export class SessionNotFoundError extends AppError {
  constructor(id: string) {
    super('NOT_FOUND', `session ${id.slice(0, 64)} not found`, { id: id.slice(0, 64) });
  }
}

/**
 * Server-side sessions on Redis, on both HTTP platforms: a signed cookie carrying a random
 * 256-bit id, a Redis hash keyed by a hash of that id, idle and absolute timeouts enforced
 * server-side, a new id at every login (fixation), nothing stored until something is put in a
 * session, and a per-user index for "my sessions" and "log out everywhere".
 *
 * @example
 * await sessions.start(req, res, { userId: 7, email, roles: ['user'], userAgent, ip });
 * const s = await sessions.current(req);
 */
@Injectable()
export class SessionService {
  private readonly endedListeners = new Set<SessionsEndedListener>();
  /**
   * Cookie values whose signature verified, by their exact text, with the public id of their
   * session: the same text verifies the same way under the same keys, so the HMAC and the hash
   * run once per cookie per instance (and its Redis key is built once). It says nothing about whether the session lives: that is
   * read from Redis on every request.
   */
  private readonly verifiedCookies = new Map<string, VerifiedCookie>();

  constructor(
    @Inject(SESSION_OPTIONS) readonly options: ResolvedSessionOptions,
    private readonly store: SessionStore,
    private readonly http: HttpContext,
  ) {}

  /**
   * The request's session, or null (no cookie, a forged or unknown one, or ended). Loaded once
   * per request (the identity step and `@Session()` share it); one Redis command. Throws when
   * Redis cannot answer — the caller chooses its failure policy.
   */
  current(request: unknown): Promise<SessionRecord | null> {
    const raw = HttpContext.raw(request) as RequestWithSession;
    raw[REQUEST_SESSION] ??= this.load(raw);
    return raw[REQUEST_SESSION];
  }

  /** The session already loaded for this request, without loading it (or undefined). */
  loaded(request: unknown): Promise<SessionRecord | null> | undefined {
    return (HttpContext.raw(request) as RequestWithSession)[REQUEST_SESSION];
  }

  /**
   * Starts a new session (login): always a new id, so a session id planted before login is
   * worthless after it; any session the request carried ends. Sets the cookie.
   */
  async start(request: unknown, response: unknown, s: NewSession): Promise<SessionRecord> {
    const previous = await this.current(request).catch(() => null);
    if (previous) await this.store.destroy(previous.id, previous.userId);
    const secret = newSessionSecret();
    const record = await this.store.create(
      publicSessionId(secret),
      s,
      this.options.idleMs,
      this.options.absoluteMs,
    );
    (HttpContext.raw(request) as RequestWithSession)[REQUEST_SESSION] = Promise.resolve(record);
    this.http.setResponseHeader(
      response,
      'Set-Cookie',
      serializeCookie(this.options.cookieName, signCookieValue(secret, this.options.secrets), {
        sameSite: this.options.sameSite,
        secure: this.options.secure,
        maxAge: Math.floor(this.options.absoluteMs / 1000),
      }),
    );
    return record;
  }

  /** Puts application data in the request's session, starting an anonymous one if there is none. */
  async set(request: unknown, response: unknown, data: Record<string, unknown>): Promise<void> {
    const s = await this.current(request);
    if (s && (await this.store.setData(s.id, { ...s.data, ...data }))) return;
    await this.start(request, response, { data });
  }

  /** Ends the request's session (logout) and clears the cookie. True when there was one. */
  async end(request: unknown, response: unknown): Promise<boolean> {
    const s = await this.current(request);
    this.clearCookie(response);
    if (!s) return false;
    (HttpContext.raw(request) as RequestWithSession)[REQUEST_SESSION] = Promise.resolve(null);
    const ended = await this.store.destroy(s.id, s.userId);
    await this.notifyEnded(s.userId, [s.id]);
    return ended;
  }

  /**
   * Calls `listener` after sessions of a user end through this service (`end`, `revoke`,
   * `revokeAll`), e.g. to close the WebSocket connections opened with them; returns the
   * unsubscribe function. The ending call waits for the listeners and fails with them (a
   * listener that cannot do its part turns a logout into an error the client retries).
   * Sessions that expire by themselves are not reported.
   *
   * @example
   * sessions.onEnded(({ userId, sessionIds }) => realtime.disconnect({ userId, sessionIds, reason: 'logged out' }));
   */
  onEnded(listener: SessionsEndedListener): () => void {
    this.endedListeners.add(listener);
    return () => this.endedListeners.delete(listener);
  }

  private async notifyEnded(userId: number | undefined, sessionIds: string[]): Promise<void> {
    if (userId === undefined || sessionIds.length === 0) return;
    await Promise.all([...this.endedListeners].map(async (l) => l({ userId, sessionIds })));
  }

  clearCookie(response: unknown): void {
    this.http.setResponseHeader(
      response,
      'Set-Cookie',
      serializeCookie(this.options.cookieName, '', {
        sameSite: this.options.sameSite,
        secure: this.options.secure,
        maxAge: 0,
      }),
    );
  }

  /** A user's live sessions, oldest first. */
  list(userId: number): Promise<SessionRecord[]> {
    return this.store.list(userId);
  }

  /** Ends one of a user's sessions; SessionNotFoundError (404) if it is not theirs or gone. */
  async revoke(userId: number, sessionId: string): Promise<void> {
    const mine = await this.store.userSessionIds(userId);
    if (!mine.includes(sessionId) || !(await this.store.destroy(sessionId, userId)))
      throw new SessionNotFoundError(sessionId);
    await this.notifyEnded(userId, [sessionId]);
  }

  /** Ends every session of a user but `keep`; returns how many ended. */
  async revokeAll(userId: number, keep?: string): Promise<number> {
    const ids = (await this.store.userSessionIds(userId)).filter((id) => id !== keep);
    const ended = await Promise.all(ids.map((id) => this.store.destroy(id, userId)));
    await this.notifyEnded(userId, ids);
    return ended.filter(Boolean).length;
  }

  /**
   * The session a Cookie header names, or null; not tied to a request (WebSocket handshakes).
   * Throws when Redis cannot answer.
   */
  fromCookieHeader(header: string | string[] | undefined): Promise<SessionRecord | null> {
    try {
      const value = readCookie(header, this.options.cookieName);
      if (!value) return Promise.resolve(null);
      const verified = this.verifiedCookies.get(value) ?? this.verifyCookie(value);
      if (verified === null) return Promise.resolve(null); // forged or signed with a retired key
      return this.store.read(verified.id, this.options.touchMs, this.options.idleMs, verified.key);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err))); // never a throw
    }
  }

  /** Verifies a cookie value not seen yet and keeps it (with its session's id and key) if valid. */
  private verifyCookie(value: string): VerifiedCookie | null {
    const secret = verifyCookieValue(value, this.options.secrets);
    if (!secret) return null; // never a session, and not kept
    const id = publicSessionId(secret);
    const verified = { id, key: this.store.key(id) };
    if (this.verifiedCookies.size >= VERIFIED_COOKIES_MAX) {
      const oldest = this.verifiedCookies.keys().next();
      if (!oldest.done) this.verifiedCookies.delete(oldest.value);
    }
    this.verifiedCookies.set(value, verified);
    return verified;
  }

  /** Whether the request carries this module's cookie at all (signed or not). */
  hasCookie(request: unknown): boolean {
    return (
      readCookie(HttpContext.raw(request).headers.cookie, this.options.cookieName) !== undefined
    );
  }

  private load(raw: IncomingMessage): Promise<SessionRecord | null> {
    return this.fromCookieHeader(raw.headers.cookie);
  }
}
