/**
 * Credentials obtained the way a client obtains them, through the documented endpoints: a
 * session cookie from `POST /api/login`, a token pair from `POST /api/auth/token`, a session's
 * public id from `GET /api/me/sessions`. Every helper throws when the app refuses, so a suite
 * whose login fails stops there instead of sending requests that mean nothing.
 */

/** The seeded users' password: SEED_PASSWORD's default, which the test apps keep. */
export const SEED_PASSWORD = 'redis-patterns-dev';

/** The users every database is seeded with (README: Session and auth); Ada is the admin. */
export const SEEDED_USERS = {
  ada: { id: 1, email: 'ada@example.com' },
  alan: { id: 2, email: 'alan@example.com' },
  grace: { id: 3, email: 'grace@example.com' },
} as const;

/** The security schemes of the OpenAPI document: a session cookie, a Bearer access token. */
export type Scheme = 'session' | 'bearer';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
}

/** Connection errors of a request that got no response at all: the socket was gone before it. */
const STALE_SOCKET = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

/**
 * `fetch`, tried once more when the request failed on a connection before any response.
 *
 * Node's fetch keeps sockets alive between requests and trusts the server's `Keep-Alive: timeout`
 * (5 s here) minus a margin; on a starved machine a request can go out on a socket the server is
 * closing, and undici retries no POST. A clean-clone CI run (load 12+) lost both admin logins of
 * the fuzz suite at the same instant to "fetch failed" (the cause was not printed then; the fuzz
 * suite prints it now). The retry takes a new socket; a login sent twice only makes one unused
 * session more. Any other error, and every answered request, is returned as it is.
 */
export async function fetchOnFreshSocket(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    const code = ((err as Error).cause as { code?: string } | undefined)?.code;
    if (!code || !STALE_SOCKET.has(code) || init.signal?.aborted) throw err;
    return fetch(url, init);
  }
}

async function post(baseUrl: string, path: string, body: unknown): Promise<Response> {
  return fetchOnFreshSocket(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
}

async function refused(what: string, res: Response): Promise<Error> {
  return new Error(`${what} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
}

/** Logs in with a password; returns the session cookie as a Cookie header value (`sid=…`). */
export async function logIn(
  baseUrl: string,
  email: string,
  password = SEED_PASSWORD,
): Promise<string> {
  const res = await post(baseUrl, '/api/login', { email, password });
  if (res.status !== 200) throw await refused(`POST /api/login as ${email}`, res);
  await res.arrayBuffer();
  const cookie = res.headers.getSetCookie()[0]?.split(';')[0];
  if (!cookie?.includes('=')) throw new Error(`POST /api/login as ${email} set no cookie`);
  return cookie;
}

/** Logs in for tokens: a new access token and a new refresh-token family. */
export async function issueTokens(
  baseUrl: string,
  email: string,
  password = SEED_PASSWORD,
): Promise<TokenPair> {
  const res = await post(baseUrl, '/api/auth/token', { email, password });
  if (res.status !== 200) throw await refused(`POST /api/auth/token as ${email}`, res);
  return (await res.json()) as TokenPair;
}

/** The public id of the session a cookie carries (its entry in `GET /api/me/sessions`). */
export async function sessionIdOf(baseUrl: string, cookie: string): Promise<string> {
  const res = await fetchOnFreshSocket(`${baseUrl}/api/me/sessions`, {
    headers: { cookie },
    signal: AbortSignal.timeout(20_000),
  });
  if (res.status !== 200) throw await refused('GET /api/me/sessions', res);
  const current = ((await res.json()) as { id: string; current: boolean }[]).find((s) => s.current);
  if (!current) throw new Error('GET /api/me/sessions lists no current session');
  return current.id;
}

/** The request headers that carry a credential of `scheme`. */
export function credentialHeaders(
  scheme: Scheme,
  c: { cookie?: string; accessToken?: string },
): Record<string, string> {
  if (scheme === 'session') return { cookie: c.cookie! };
  return { authorization: `Bearer ${c.accessToken!}` };
}

/**
 * The credentials a suite sends: those of a `shared` user, logged in once per scheme and never
 * consumed (nothing the suite sends with them logs out or revokes), and fresh ones of a
 * `consumer` user, a new login for every request that may use them up (a logout, a revocation,
 * a refresh). The two are different users, so even a log-out-everywhere of the consumer leaves
 * the shared credentials valid.
 */
export class Credentials {
  private readonly shared = new Map<Scheme, Promise<Record<string, string>>>();
  private readonly admin = new Map<Scheme, Promise<Record<string, string>>>();

  constructor(
    private readonly baseUrl: string,
    readonly users: { shared: string; consumer: string } = {
      shared: SEEDED_USERS.alan.email,
      consumer: SEEDED_USERS.grace.email,
    },
  ) {}

  /** Headers that authenticate with `scheme`: the shared user's, or (`fresh`) a new login of the consumer. */
  headers(scheme: Scheme, fresh: boolean): Promise<Record<string, string>> {
    if (fresh) return this.login(scheme, this.users.consumer);
    let h = this.shared.get(scheme);
    if (!h) {
      h = this.login(scheme, this.users.shared);
      // A failed login is not cached: the next caller tries again (and reports its own failure).
      h.catch(() => this.shared.delete(scheme));
      this.shared.set(scheme, h);
    }
    return h;
  }

  /** Headers that authenticate the admin (Ada) with `scheme`: for operations that need the admin role. */
  adminHeaders(scheme: Scheme): Promise<Record<string, string>> {
    let h = this.admin.get(scheme);
    if (!h) {
      h = this.login(scheme, SEEDED_USERS.ada.email);
      h.catch(() => this.admin.delete(scheme));
      this.admin.set(scheme, h);
    }
    return h;
  }

  /** A report job the shared user queued (`POST /api/reports`): its id. */
  async ownJobId(): Promise<string> {
    const res = await fetchOnFreshSocket(`${this.baseUrl}/api/reports`, {
      method: 'POST',
      headers: await this.headers('bearer', false),
      signal: AbortSignal.timeout(20_000),
    });
    if (res.status !== 202) throw await refused('POST /api/reports', res);
    return ((await res.json()) as { jobId: string }).jobId;
  }

  /**
   * A failed job (a dead letter) to retry: `{ queue, id }`. Only a suite with access to the app
   * can make one; it sets this.
   */
  failedJob?: () => Promise<{ queue: string; id: string }>;

  /** A refresh token of a new family of the consumer, never used. */
  async freshRefreshToken(): Promise<string> {
    return (await issueTokens(this.baseUrl, this.users.consumer)).refreshToken;
  }

  /** The public id of a new session of the consumer (not one any request authenticates with). */
  async freshSessionId(): Promise<string> {
    return sessionIdOf(this.baseUrl, await logIn(this.baseUrl, this.users.consumer));
  }

  private async login(scheme: Scheme, email: string): Promise<Record<string, string>> {
    return scheme === 'session'
      ? credentialHeaders(scheme, { cookie: await logIn(this.baseUrl, email) })
      : credentialHeaders(scheme, await issueTokens(this.baseUrl, email));
  }
}
