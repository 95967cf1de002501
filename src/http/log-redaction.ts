import type { IncomingMessage } from 'node:http';

/** Header names whose values are credentials (exact names, lower case). */
const SECRET_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'x-auth-token',
  'x-access-token',
  'x-csrf-token',
  'x-xsrf-token',
]);

/** Header and query names that look like credentials wherever they appear. */
const SECRET_NAME =
  /token|secret|passw(or)?d|signature|^sig$|api[-_]?key|session|credential|^auth|^code$/i;

export const REDACTED = '[redacted]';

export function isSecretName(name: string): boolean {
  return SECRET_HEADERS.has(name.toLowerCase()) || SECRET_NAME.test(name);
}

/** A copy of the headers with every credential-bearing value replaced. */
export function redactHeaders(
  headers: Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
  if (!headers) return headers;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(headers)) out[k] = isSecretName(k) ? REDACTED : v;
  return out;
}

/** The URL with the values of credential-looking query parameters replaced (`?access_token=[redacted]`). */
export function redactUrl(url: string | undefined): string | undefined {
  if (!url) return url;
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawName = eq < 0 ? pair : pair.slice(0, eq);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        // keep it as sent
      }
      return eq >= 0 && isSecretName(name) ? `${rawName}=${REDACTED}` : pair;
    })
    .join('&');
  return `${url.slice(0, q)}?${query}`;
}

interface SerializedRequest {
  url?: string;
  headers?: Record<string, unknown>;
  query?: Record<string, unknown>;
  raw?: IncomingMessage & { originalUrl?: string };
}

/**
 * pino-http serializers: request logs carry the URL as the client sent it (`originalUrl`:
 * Fastify's middleware layer strips the mount path from `url`), with credential headers and
 * query values redacted; response logs drop `Set-Cookie` values.
 */
export const redactingSerializers = {
  req: (req: SerializedRequest): SerializedRequest => {
    const url = redactUrl(req.raw?.originalUrl ?? req.url);
    const query = req.query
      ? Object.fromEntries(
          Object.entries(req.query).map(([k, v]) => [k, isSecretName(k) ? REDACTED : v]),
        )
      : req.query;
    return { ...req, url, headers: redactHeaders(req.headers), query };
  },
  res: (res: { headers?: Record<string, unknown> }) => ({
    ...res,
    headers: redactHeaders(res.headers),
  }),
};

/** Paths never logged per request (probes and scrapes, many per minute). */
export function isQuietPath(req: IncomingMessage & { originalUrl?: string }): boolean {
  return /^\/(health|metrics)(\/|\?|$)/.test(req.originalUrl ?? req.url ?? '');
}
