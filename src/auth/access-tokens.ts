import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { createSecretKey, randomBytes } from 'node:crypto';
import { AUTH_OPTIONS, ResolvedAuthOptions } from './auth.module-definition';
import type { AuthUser } from './auth.types';

/** The claims this module puts in (and requires of) an access token. */
export interface AccessClaims {
  sub: string;
  email: string;
  roles: string[];
  /** Issued at, ms: compared with the user's "revoked before" time (iat has only seconds). */
  ims: number;
  /** The refresh-token family issued with it (logout revokes both). */
  fid?: string;
  jti: string;
  iat: number;
  nbf: number;
  exp: number;
  iss: string;
  aud: string;
}

export class InvalidAccessToken extends Error {}

/** Verified tokens kept per instance (token → claims); the oldest go first past this many. */
const VERIFIED_CACHE_MAX = 10_000;

/**
 * Access tokens (JWT) with `@nestjs/jwt`: HS256 only, both ways (a token with any other `alg`,
 * `none` included, is refused), `iss`, `aud`, `exp` and `nbf` checked with a small clock
 * tolerance, and a random `jti` required.
 */
@Injectable()
export class AccessTokens {
  private readonly jwt: JwtService;
  /**
   * Tokens whose signature, `alg`, `iss`, `aud` and claims were verified, by their exact text:
   * the same string verifies the same way under the same key, so only the time checks (`exp`,
   * `nbf`) are redone per request. Bounded (insertion order, oldest evicted); expired entries
   * leave when seen.
   */
  private readonly verified = new Map<string, AccessClaims>();

  constructor(@Inject(AUTH_OPTIONS) private readonly options: ResolvedAuthOptions) {
    const { secret, issuer, audience, clockToleranceS } = options.jwt;
    this.jwt = new JwtService({
      // A KeyObject, not the string: given a string, jsonwebtoken first tries it as a PEM public
      // key on every verify (about 0.5 ms of CPU per request, measured in bench:auth).
      secret: createSecretKey(Buffer.from(secret, 'utf8')) as unknown as string,
      signOptions: { algorithm: 'HS256', issuer, audience },
      verifyOptions: { algorithms: ['HS256'], issuer, audience, clockTolerance: clockToleranceS },
    });
  }

  async sign(user: AuthUser, family?: string): Promise<{ token: string; expiresInS: number }> {
    const expiresInS = Math.max(1, Math.floor(this.options.jwt.accessTtlMs / 1000));
    const token = await this.jwt.signAsync(
      { sub: String(user.id), email: user.email, roles: user.roles, ims: Date.now(), fid: family },
      { jwtid: randomBytes(16).toString('base64url'), expiresIn: expiresInS, notBefore: 0 },
    );
    return { token, expiresInS };
  }

  /**
   * The claims of a valid token; InvalidAccessToken (with the reason) otherwise. A token seen
   * before answers from the verified-token cache, its `exp` and `nbf` checked again (as
   * jsonwebtoken does, with the same tolerance). Callers must not mutate the claims.
   */
  async verify(token: string): Promise<AccessClaims> {
    const cached = this.peek(token);
    if (cached !== undefined) return cached;
    const claims = await this.verifySlow(token);
    if (this.verified.size >= VERIFIED_CACHE_MAX) {
      const oldest = this.verified.keys().next();
      if (!oldest.done) this.verified.delete(oldest.value);
    }
    this.verified.set(token, claims);
    return claims;
  }

  /**
   * `verify` without the wait, for the hot path: the claims of a token in the verified-token
   * cache (its `exp` and `nbf` checked again, InvalidAccessToken when they fail), or undefined
   * when the token was not verified yet (call `verify`). Returns the cached object itself, the
   * same for every request with this token: callers must not mutate it.
   */
  peek(token: string): AccessClaims | undefined {
    const cached = this.verified.get(token);
    if (cached === undefined) return undefined;
    const nowS = Math.floor(Date.now() / 1000);
    const tolerance = this.options.jwt.clockToleranceS;
    if (nowS >= cached.exp + tolerance) {
      this.verified.delete(token);
      throw new InvalidAccessToken('the access token has expired');
    }
    if (typeof cached.nbf === 'number' && cached.nbf > nowS + tolerance)
      throw new InvalidAccessToken('the access token is not valid yet');
    return cached;
  }

  private async verifySlow(token: string): Promise<AccessClaims> {
    let claims: Partial<AccessClaims>;
    try {
      claims = await this.jwt.verifyAsync<Partial<AccessClaims>>(token);
    } catch (err) {
      const e = err as Error;
      throw new InvalidAccessToken(
        e.name === 'TokenExpiredError'
          ? 'the access token has expired'
          : e.name === 'NotBeforeError'
            ? 'the access token is not valid yet'
            : 'the access token is invalid',
      );
    }
    if (
      typeof claims.jti !== 'string' ||
      claims.jti.length < 16 ||
      typeof claims.sub !== 'string' ||
      !/^[1-9]\d{0,9}$/.test(claims.sub) ||
      typeof claims.exp !== 'number' ||
      typeof claims.ims !== 'number' ||
      !Array.isArray(claims.roles)
    ) {
      throw new InvalidAccessToken('the access token lacks required claims');
    }
    return claims as AccessClaims;
  }
}
