/**
 * The auth benchmarks' side of a server child (bench/auth/server.ts): its bench routes, the
 * credentials of user 1, and the check that a protected route is wired as expected. Used by
 * run.ts and paired.ts.
 */

/** How a variant's requests prove who they are. */
export type Credential = 'none' | 'bearer' | 'cookie';

/** What a request needs to send: its path's credential kind and, for cookies, the cookie name. */
export interface CredentialSpec {
  id: string;
  path: string;
  credential: Credential;
  /** the cookie that carries the session (cookie variants) */
  cookieName?: string;
}

export async function getJson<T>(
  url: string,
  init: RequestInit = {},
): Promise<{ body: T; res: Response }> {
  if (new URL(url).hostname !== '127.0.0.1') throw new Error('traffic goes to 127.0.0.1 only');
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url}: HTTP ${res.status}`);
  return { body: (await res.json()) as T, res };
}

/** Logs user 1 in on the server and returns the request headers of the variant's credential. */
export async function credentialHeaders(
  url: string,
  v: CredentialSpec,
): Promise<Record<string, string>> {
  if (v.credential === 'none') return {};
  const { body, res } = await getJson<{ bearer?: string }>(`${url}/bench/credentials`, {
    method: 'POST',
  });
  if (v.credential === 'bearer') {
    if (!body.bearer) throw new Error('no bearer token issued');
    return { authorization: `Bearer ${body.bearer}` };
  }
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .find((c) => c.startsWith(`${v.cookieName}=`));
  if (!cookie) throw new Error(`no ${v.cookieName} cookie set`);
  return { cookie };
}

/** The route answers 200 with the credential, and refuses (401) without it when protected. */
export async function checkWiring(
  url: string,
  v: CredentialSpec,
  headers: Record<string, string>,
): Promise<void> {
  const ok = await fetch(`${url}${v.path}`, { headers, signal: AbortSignal.timeout(10_000) });
  await ok.arrayBuffer();
  if (ok.status !== 200) throw new Error(`${v.id}: GET ${v.path} with credential → ${ok.status}`);
  if (v.credential === 'none') return;
  const anon = await fetch(`${url}${v.path}`, { signal: AbortSignal.timeout(10_000) });
  await anon.arrayBuffer();
  if (anon.status !== 401)
    throw new Error(`${v.id}: GET ${v.path} without credential → ${anon.status}, expected 401`);
}

/** The server's CPU ms so far, and the requests it has served. */
export const serverStats = async (url: string): Promise<{ cpuMs: number; served: number }> =>
  (await getJson<{ cpuMs: number; served: number }>(`${url}/bench/stats`)).body;
