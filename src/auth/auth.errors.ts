import { AppError } from '../common';

/**
 * Missing, malformed, expired, tampered or revoked credentials: 401 (RFC 6750). `bearerError`
 * goes into `WWW-Authenticate` when the request sent a token.
 */
export class UnauthenticatedError extends AppError {
  constructor(
    message = 'Authentication required: log in, or send a valid Bearer token',
    readonly bearerError?: 'invalid_token' | 'invalid_request',
  ) {
    super('UNAUTHENTICATED', message, undefined, {
      status: bearerError === 'invalid_request' ? 400 : 401,
    });
  }
}

/** Authenticated, but without the role the route needs: 403. */
export class ForbiddenRoleError extends AppError {
  constructor(roles: string[]) {
    super('FORBIDDEN', `This needs the role ${roles.join(' or ')}`, undefined, { status: 403 });
  }
}

/** Revocation cannot be checked (Redis unavailable): protected routes fail closed with 503. */
export class AuthUnavailableError extends AppError {
  constructor(cause: string) {
    super(
      'UNAVAILABLE',
      `credentials cannot be checked now (Redis is unavailable: ${cause}); retry shortly`,
      undefined,
      { status: 503 },
    );
  }
}

/** Too many failed logins for this account or client: 429 with Retry-After. */
export class LoginThrottledError extends AppError {
  constructor(readonly retryAfterS: number) {
    super(
      'LOGIN_THROTTLED',
      `Too many failed logins; retry in ${retryAfterS} s`,
      { retryAfter: retryAfterS },
      { status: 429, headers: { 'Retry-After': String(retryAfterS) } },
    );
  }
}
