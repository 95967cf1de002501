import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new secret session id: 256 random bits, base64url. Only the cookie ever holds it. */
export function newSessionSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** The public id of a session (its Redis key part, what lists show): SHA-256 of the secret id. */
export function publicSessionId(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

function mac(key: string, value: string): Buffer {
  return createHmac('sha256', key).update(value).digest();
}

/** `<secret>.<HMAC-SHA256 with the first key>`, base64url. */
export function signCookieValue(secret: string, keys: string[]): string {
  return `${secret}.${mac(keys[0], secret).toString('base64url')}`;
}

const SECRET = /^[A-Za-z0-9_-]{43}$/;
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;

/** The secret session id of a signed cookie value when any key verifies it; null otherwise. */
export function verifyCookieValue(value: string, keys: string[]): string | null {
  const dot = value.indexOf('.');
  if (dot < 0) return null;
  const secret = value.slice(0, dot);
  const signature = value.slice(dot + 1);
  if (!SECRET.test(secret) || !SIGNATURE.test(signature)) return null;
  // Compared as text, not as decoded bytes: the 43rd base64url character carries 2 unused bits,
  // so four spellings decode to the same MAC. Only the canonical one verifies.
  const given = Buffer.from(signature, 'latin1');
  for (const key of keys) {
    const expected = Buffer.from(mac(key, secret).toString('base64url'), 'latin1');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return secret;
  }
  return null;
}

/** The value of cookie `name` in a Cookie header (first occurrence), or undefined. */
export function readCookie(
  header: string | string[] | undefined,
  name: string,
): string | undefined {
  const text = Array.isArray(header) ? header.join('; ') : header;
  if (!text || text.length > 16_384) return undefined;
  // `name=value` pairs separated by `;`, scanned in place (no array of parts per request).
  for (let start = 0; start < text.length;) {
    let end = text.indexOf(';', start);
    if (end < 0) end = text.length;
    const eq = text.indexOf('=', start);
    if (eq >= 0 && eq < end && text.slice(start, eq).trim() === name) {
      let v = text.slice(eq + 1, end).trim();
      if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
      if (!v.includes('%')) return v; // nothing to decode (decodeURIComponent would return it as is)
      try {
        return decodeURIComponent(v);
      } catch {
        return undefined;
      }
    }
    start = end + 1;
  }
  return undefined;
}

export interface CookieAttributes {
  sameSite: 'strict' | 'lax' | 'none';
  secure: boolean;
  /** Seconds; 0 deletes the cookie. Absent: a browser-session cookie. */
  maxAge?: number;
}

/** A Set-Cookie value: HttpOnly, Path=/, SameSite and Secure as configured. */
export function serializeCookie(name: string, value: string, a: CookieAttributes): string {
  const parts = [`${name}=${value}`, 'Path=/', 'HttpOnly'];
  parts.push(`SameSite=${a.sameSite[0].toUpperCase()}${a.sameSite.slice(1)}`);
  if (a.secure || a.sameSite === 'none') parts.push('Secure');
  if (a.maxAge !== undefined) {
    parts.push(`Max-Age=${Math.max(0, Math.floor(a.maxAge))}`);
    if (a.maxAge <= 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  }
  return parts.join('; ');
}
