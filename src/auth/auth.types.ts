/** Who a request is: set on the request by the identity step, read by guards and decorators. */
export interface Identity {
  /** User id. */
  id: number;
  email: string;
  roles: string[];
  /** How the request proved it: a session cookie or a Bearer access token. */
  via: 'session' | 'token';
  /** The session's id (its public id: a hash, never the cookie value), for `via: 'session'`. */
  sessionId?: string;
  /** The access token's id and expiry (epoch s), for `via: 'token'`. */
  jti?: string;
  exp?: number;
  /** The refresh-token family the access token was issued with, if any. */
  family?: string;
}

/** A user as the application knows it, for authentication. */
export interface AuthUser {
  id: number;
  email: string;
  roles: string[];
}

/**
 * Where users and their passwords live: the application provides it (the users domain here),
 * the auth module never reads user storage itself.
 */
export interface UserDirectory {
  /**
   * The user with these credentials, or null. Must do the same work (one password-hash
   * verification) whether the email is unknown or the password wrong.
   */
  verifyCredentials(email: string, password: string): Promise<AuthUser | null>;
  /** The user with this id, or null (deleted since the credential was issued). */
  findUser(id: number): Promise<AuthUser | null>;
}
