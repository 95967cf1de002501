import { newSessionSecret, signCookieValue, verifyCookieValue } from './session-cookie';

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
