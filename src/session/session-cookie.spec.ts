import { newSessionSecret, readCookie, signCookieValue, verifyCookieValue } from './session-cookie';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('session cookie signature', () => {
  const keys = ['first-key', 'old-key'];

  it('verifies its own signature, with the first key or any older key', () => {
    const secret = newSessionSecret();
    expect(verifyCookieValue(signCookieValue(secret, keys), keys)).toBe(secret);
    expect(verifyCookieValue(signCookieValue(secret, ['old-key']), keys)).toBe(secret);
    expect(verifyCookieValue(signCookieValue(secret, ['unknown']), keys)).toBeNull();
  });

  it('refuses every other spelling of the last character, including those that decode to the same MAC', () => {
    // 43 base64url characters hold 258 bits for a 256-bit MAC: the last character's two low bits
    // are unused, so three other characters decode to the same bytes. None of them may verify.
    for (let i = 0; i < 32; i++) {
      const secret = newSessionSecret();
      const value = signCookieValue(secret, keys);
      const last = value.at(-1)!;
      for (const c of ALPHABET) {
        if (c === last) continue;
        expect(verifyCookieValue(value.slice(0, -1) + c, keys)).toBeNull();
      }
    }
  });

  it('refuses a changed id, a truncated or missing signature', () => {
    const secret = newSessionSecret();
    const value = signCookieValue(secret, keys);
    const other = newSessionSecret();
    expect(verifyCookieValue(other + value.slice(secret.length), keys)).toBeNull();
    expect(verifyCookieValue(value.slice(0, -3), keys)).toBeNull();
    expect(verifyCookieValue(secret, keys)).toBeNull();
    expect(verifyCookieValue(`${secret}.`, keys)).toBeNull();
  });
});

describe('readCookie', () => {
  it('finds the named cookie among others, first occurrence, trimmed', () => {
    expect(readCookie('a=1; sid=abc; b=2', 'sid')).toBe('abc');
    expect(readCookie('sid=abc', 'sid')).toBe('abc');
    expect(readCookie('  sid = abc ;sid=def', 'sid')).toBe('abc');
    expect(readCookie(['a=1', 'sid=xyz'], 'sid')).toBe('xyz');
  });

  it('skips parts without "=" and names that only contain the name', () => {
    expect(readCookie('sid; xsid=1; sidx=2; sid=3', 'sid')).toBe('3');
    expect(readCookie('a=1;;b=2', 'sid')).toBeUndefined();
    expect(readCookie('sid', 'sid')).toBeUndefined();
  });

  it('unquotes and URI-decodes the value; a malformed escape is no cookie', () => {
    expect(readCookie('sid="abc"', 'sid')).toBe('abc');
    expect(readCookie('sid=a%2Eb', 'sid')).toBe('a.b');
    expect(readCookie('sid=a%E0%A4%A', 'sid')).toBeUndefined();
    expect(readCookie('sid=a=b', 'sid')).toBe('a=b');
    expect(readCookie('sid=', 'sid')).toBe('');
  });

  it('ignores absent, empty and oversized headers', () => {
    expect(readCookie(undefined, 'sid')).toBeUndefined();
    expect(readCookie('', 'sid')).toBeUndefined();
    expect(readCookie(`sid=${'a'.repeat(16_400)}`, 'sid')).toBeUndefined();
  });
});
