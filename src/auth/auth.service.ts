import { Inject, Injectable, Optional } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpContext } from '../http';
import { MetricsService } from '../metrics';
import { RedisThrottlerStorage } from '../rate-limit';
import { SessionService } from '../session';
import { AccessClaims, AccessTokens, InvalidAccessToken } from './access-tokens';
import { AuthUnavailableError, LoginThrottledError, UnauthenticatedError } from './auth.errors';
import { AUTH_OPTIONS, ResolvedAuthOptions } from './auth.module-definition';
import type { AuthUser, Identity } from './auth.types';
import { TokenStore } from './token.store';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  /** Access token lifetime, seconds. */
  expiresIn: number;
}

/** What the identity step found about a request: a user, nothing, or why not. */
export type AuthOutcome =
  | { user: Identity }
  | {
      user?: undefined;
      problem?: 'invalid_token' | 'invalid_request' | 'unavailable';
      detail?: string;
    };

/**
 * Credentials of a user that were just revoked: one access token and/or its refresh family, or
 * everything the user holds (`all`: log out everywhere).
 */
export interface CredentialsRevoked {
  userId: number;
  tokenId?: string;
  family?: string;
  all?: boolean;
}

export type CredentialsRevokedListener = (revoked: CredentialsRevoked) => Promise<void> | void;

interface VerifiedToken {
  outcome: { user: Identity };
  isRevoked: () => Promise<boolean>;
}

/** Where the identity step leaves its outcome on the (raw) request. */
export const AUTH_OUTCOME = Symbol('auth:outcome');

/** RFC 6750 `Bearer <b64token>`; the scheme is case-insensitive (RFC 9110 §11.1). */
const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;
const REFRESH = /^([1-9]\d{0,9})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

/**
 * Authentication: password logins (throttled per account and per client), access tokens with
 * revocation by `jti` and a per-user cut-off (one Redis round trip per request), rotating
 * refresh tokens with reuse detection, sessions through SessionModule, and one identity step for
 * every request. Failure policy: fail closed — when Redis cannot answer, a credential cannot be
 * checked and protected routes answer 503.
 */
@Injectable()
export class AuthService {
  private readonly logins;
  private readonly checks;
  private readonly revocations;
  private readonly revokedListeners = new Set<CredentialsRevokedListener>();
  /** Per verified token (its cached claims): see `verifiedToken`. */
  private readonly verifiedTokens = new WeakMap<AccessClaims, VerifiedToken>();

  constructor(
    @Inject(AUTH_OPTIONS) readonly options: ResolvedAuthOptions,
    private readonly tokens: TokenStore,
    private readonly access: AccessTokens,
    @Optional() private readonly sessions?: SessionService,
    @Optional() private readonly throttle?: RedisThrottlerStorage,
    @Optional() metrics: MetricsService = MetricsService.standalone(),
  ) {
    this.logins = metrics.counter({
      name: 'auth_logins_total',
      help: 'Login attempts by method (session|token) and result (success|failure|limited|error)',
      labelNames: ['method', 'result'],
    });
    this.checks = metrics.counter({
      name: 'auth_checks_total',
      help: 'Credential checks of requests by result (session|token|invalid|revoked|unavailable)',
      labelNames: ['result'],
    });
    this.revocations = metrics.counter({
      name: 'auth_revocations_total',
      help: 'Revocations by kind (session|token|family|reuse|all)',
      labelNames: ['kind'],
    });
  }

  // --- logins -----------------------------------------------------------------------------

  /**
   * Checks a password. Failed attempts count per account and per client address; once either is
   * over its limit, LoginThrottledError (429) answers before any password is checked. Unknown
   * email and wrong password are the same UnauthenticatedError, after the same hashing work.
   */
  async login(email: string, password: string, client: string, method: 'session' | 'token') {
    const account = `login:acct:${createHash('sha256').update(email.trim().toLowerCase()).digest('base64url')}`;
    const address = `login:ip:${client}`;
    const { loginLimit: perAccount, loginClientLimit: perClient } = this.options;
    if (this.throttle) {
      const [a, c] = await Promise.all([
        this.throttle.peek(account, perAccount.windowMs, perAccount.limit, 'login'),
        this.throttle.peek(address, perClient.windowMs, perClient.limit, 'login'),
      ]);
      if (!a.allowed || !c.allowed) {
        this.logins.inc({ method, result: 'limited' });
        throw new LoginThrottledError(
          Math.max(1, Math.ceil(Math.max(a.retryAfterMs, c.retryAfterMs) / 1000)),
        );
      }
    }
    const user = await this.options.directory.verifyCredentials(email, password);
    if (!user) {
      this.logins.inc({ method, result: 'failure' });
      if (this.throttle) {
        await Promise.all([
          this.throttle.check(account, perAccount.windowMs, perAccount.limit, 0, 'login'),
          this.throttle.check(address, perClient.windowMs, perClient.limit, 0, 'login'),
        ]);
      }
      throw new UnauthenticatedError('Invalid email or password');
    }
    this.logins.inc({ method, result: 'success' });
    return user;
  }

  // --- tokens -----------------------------------------------------------------------------

  /** A new access token and a new refresh-token family for a user who just proved who they are. */
  async issueTokens(user: AuthUser): Promise<TokenPair> {
    const family = randomBytes(16).toString('base64url');
    const refreshToken = newRefreshToken(user.id, family);
    await this.tokens.createFamily(user.id, family, refreshToken, this.options.refreshTtlMs);
    const { token, expiresInS } = await this.access.sign(user, family);
    return { accessToken: token, refreshToken, tokenType: 'Bearer', expiresIn: expiresInS };
  }

  /**
   * Rotates a refresh token: a new pair, the presented token used up. An already-used token
   * revokes its whole family (RFC 9700 reuse detection), except the one just replaced within
   * the reuse grace (a second, concurrent refresh), which is only refused.
   */
  async refresh(refreshToken: string): Promise<TokenPair> {
    const m = REFRESH.exec(refreshToken);
    if (!m) throw new UnauthenticatedError('The refresh token is invalid');
    const userId = Number(m[1]);
    const family = m[2];
    const replacement = newRefreshToken(userId, family);
    const r = await this.tokens.rotate(
      userId,
      family,
      refreshToken,
      replacement,
      this.options.refreshReuseGraceMs,
    );
    if (r.outcome === 'reused') {
      this.revocations.inc({ kind: 'reuse' });
      await this.notifyRevoked({ userId, family });
    }
    if (r.outcome !== 'rotated') {
      throw new UnauthenticatedError(
        r.outcome === 'reused'
          ? 'The refresh token was already used: its whole family is revoked; log in again'
          : r.outcome === 'duplicate'
            ? 'The refresh token was just rotated by another request'
            : 'The refresh token is invalid or expired',
      );
    }
    const user = await this.options.directory.findUser(userId);
    if (!user) {
      await this.tokens.revokeFamily(userId, family);
      throw new UnauthenticatedError('The user no longer exists');
    }
    const { token, expiresInS } = await this.access.sign(user, family);
    return {
      accessToken: token,
      refreshToken: replacement,
      tokenType: 'Bearer',
      expiresIn: expiresInS,
    };
  }

  /** Logs out a token: the access token until its expiry, and its refresh family. */
  async logoutToken(identity: Identity): Promise<void> {
    if (identity.jti && identity.exp) {
      await this.tokens.revokeAccessToken(identity.id, identity.jti, identity.exp);
      this.revocations.inc({ kind: 'token' });
    }
    if (identity.family) {
      await this.tokens.revokeFamily(identity.id, identity.family);
      this.revocations.inc({ kind: 'family' });
    }
    if (identity.jti || identity.family) {
      await this.notifyRevoked({
        userId: identity.id,
        ...(identity.jti ? { tokenId: identity.jti } : {}),
        ...(identity.family ? { family: identity.family } : {}),
      });
    }
  }

  /**
   * Calls `listener` after access tokens or refresh families are revoked through this service
   * (`logoutToken`, `logoutAll`, reuse detection), e.g. to close the WebSocket connections they
   * opened; returns the unsubscribe function. Revoked sessions are reported by
   * `SessionService.onEnded`. The revoking call waits for the listeners and fails with them.
   *
   * @example
   * auth.onRevoked((r) => realtime.disconnect({ ...r, reason: 'logged out' }));
   */
  onRevoked(listener: CredentialsRevokedListener): () => void {
    this.revokedListeners.add(listener);
    return () => this.revokedListeners.delete(listener);
  }

  private async notifyRevoked(revoked: CredentialsRevoked): Promise<void> {
    await Promise.all([...this.revokedListeners].map(async (l) => l(revoked)));
  }

  /** Logs a user out everywhere: every access token issued before now, every refresh family, every session. */
  async logoutAll(userId: number): Promise<{ families: number; sessions: number }> {
    const families = await this.tokens.revokeAll(userId, Date.now(), this.options.jwt.accessTtlMs);
    const sessions = (await this.sessions?.revokeAll(userId)) ?? 0;
    this.revocations.inc({ kind: 'all' });
    await this.notifyRevoked({ userId, all: true });
    return { families, sessions };
  }

  // --- the identity step ------------------------------------------------------------------

  /**
   * The outcome `identify` already found for this request (the identity middleware runs it on
   * every route), without waiting; undefined when the step has not run for it.
   */
  identified(request: unknown): AuthOutcome | undefined {
    return (HttpContext.raw(request) as { [AUTH_OUTCOME]?: AuthOutcome })[AUTH_OUTCOME];
  }

  /**
   * Who a request is: a Bearer token (checked for revocation, one MGET), else a session cookie
   * (one EVALSHA), else nobody. Never throws: a bad credential is a `problem` (the request stays
   * anonymous; protected routes refuse it), a Redis failure is `unavailable` (protected routes
   * fail closed with 503; public routes carry on).
   */
  async identify(request: unknown): Promise<AuthOutcome> {
    const raw = HttpContext.raw(request) as IncomingMessage & { [AUTH_OUTCOME]?: AuthOutcome };
    if (raw[AUTH_OUTCOME]) return raw[AUTH_OUTCOME];
    const outcome = await this.resolve(raw.headers.authorization, () =>
      this.sessions ? this.sessions.current(request) : Promise.resolve(null),
    );
    raw[AUTH_OUTCOME] = outcome;
    if (outcome.user) (raw as { user?: Identity }).user = outcome.user;
    return outcome;
  }

  /**
   * A WebSocket handshake's identity: `token` (an access token) or the handshake's Cookie
   * header. Throws UnauthenticatedError (anonymous, invalid or revoked) or AuthUnavailableError.
   */
  async authenticateHandshake(h: {
    token?: string;
    cookie?: string | string[];
  }): Promise<Identity> {
    const outcome = await this.resolve(h.token ? `Bearer ${h.token}` : undefined, () =>
      this.sessions ? this.sessions.fromCookieHeader(h.cookie) : Promise.resolve(null),
    );
    if (outcome.user) return outcome.user;
    if (outcome.problem === 'unavailable') throw new AuthUnavailableError(outcome.detail ?? '');
    throw new UnauthenticatedError(outcome.detail);
  }

  /**
   * What follows from a verified token's claims, built once per token (the claims object is the
   * verified-token cache's, so it lives as long as that entry): the identity it proves (frozen:
   * every request with the token shares it) and its revocation check. The check itself runs on
   * every request; only its keys are kept.
   */
  private verifiedToken(claims: AccessClaims): VerifiedToken {
    let v = this.verifiedTokens.get(claims);
    if (v === undefined) {
      const id = Number(claims.sub);
      const user: Identity = Object.freeze({
        id,
        email: claims.email,
        roles: claims.roles,
        via: 'token',
        jti: claims.jti,
        exp: claims.exp,
        family: claims.fid,
      });
      v = {
        outcome: Object.freeze({ user }),
        isRevoked: this.tokens.revocationCheck(id, claims.jti, claims.ims),
      };
      this.verifiedTokens.set(claims, v);
    }
    return v;
  }

  private async resolve(
    authorization: string | undefined,
    session: () => Promise<Awaited<ReturnType<SessionService['current']>>>,
  ): Promise<AuthOutcome> {
    if (authorization !== undefined) {
      const m = BEARER.exec(authorization);
      if (!m) {
        this.checks.inc({ result: 'invalid' });
        return {
          problem: 'invalid_request',
          detail: 'The Authorization header must be: Bearer <access token>',
        };
      }
      let claims;
      try {
        claims = this.access.peek(m[1]) ?? (await this.access.verify(m[1]));
      } catch (err) {
        this.checks.inc({ result: 'invalid' });
        return { problem: 'invalid_token', detail: (err as InvalidAccessToken).message };
      }
      const verified = this.verifiedToken(claims);
      try {
        if (await verified.isRevoked()) {
          this.checks.inc({ result: 'revoked' });
          return { problem: 'invalid_token', detail: 'the access token has been revoked' };
        }
      } catch (err) {
        this.checks.inc({ result: 'unavailable' });
        return { problem: 'unavailable', detail: (err as Error).message };
      }
      this.checks.inc({ result: 'token' });
      return verified.outcome;
    }
    let s;
    try {
      s = await session();
    } catch (err) {
      this.checks.inc({ result: 'unavailable' });
      return { problem: 'unavailable', detail: (err as Error).message };
    }
    if (!s || s.userId === undefined) return {};
    this.checks.inc({ result: 'session' });
    return {
      user: { id: s.userId, email: s.email ?? '', roles: s.roles, via: 'session', sessionId: s.id },
    };
  }
}

function newRefreshToken(userId: number, family: string): string {
  return `${userId}.${family}.${randomBytes(32).toString('base64url')}`;
}
