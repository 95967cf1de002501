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

/**
 * Access tokens (JWT) with `@nestjs/jwt`: HS256 only, both ways (a token with any other `alg`,
 * `none` included, is refused), `iss`, `aud`, `exp` and `nbf` checked with a small clock
 * tolerance, and a random `jti` required.
 */
@Injectable()
export class AccessTokens {
  private readonly jwt: JwtService;

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

  /** The claims of a valid token; InvalidAccessToken (with the reason) otherwise. */
  async verify(token: string): Promise<AccessClaims> {
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
