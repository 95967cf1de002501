import { keyPart, RedisKeys } from './redis-keys';
import { retryDelay } from './redis.connection';
import { loadLuaScripts } from './redis-scripts';
import { join } from 'node:path';

describe('RedisKeys', () => {
  const keys = new RedisKeys('app');

  it('builds prefix:namespace:id keys', () => {
    expect(keys.namespace('cache').key('users', 'user:7')).toBe(
      'app:cache:users:h.' + keyPart('user:7').slice(2),
    );
    expect(keys.namespace('cache').key('users', 7)).toBe('app:cache:users:7');
    expect(keys.namespace('a').namespace('b').key('x')).toBe('app:a:b:x');
  });

  it('hashes unbounded or unsafe parts into a short stable digest', () => {
    const long = 'x'.repeat(500);
    expect(keyPart(long)).toMatch(/^h\.[A-Za-z0-9_-]{22}$/);
    expect(keyPart(long)).toBe(keyPart(long));
    expect(keyPart('a b')).not.toBe(keyPart('a_b'));
    expect(keyPart('{tag}')).toMatch(/^h\./);
    expect(keyPart('plain-part_1.2')).toBe('plain-part_1.2');
  });

  it('puts keys of one tag in one hash slot with {tag}', () => {
    const lock = keys.namespace('lock');
    expect(lock.tagged('user-7')).toBe('app:lock:{user-7}');
    expect(lock.tagged('user-7', 'fence')).toBe('app:lock:{user-7}:fence');
    expect(lock.tagged('user:7')).toBe('app:lock:{user:7}');
    expect(lock.tagged('a{b}')).toMatch(/^app:lock:\{h\.[A-Za-z0-9_-]{22}\}$/);
  });

  it('escapes glob characters in SCAN patterns', () => {
    expect(new RedisKeys('a*b').namespace('ns').pattern()).toBe('a\\*b:ns:*');
  });

  it('refuses namespaces that would make ambiguous keys', () => {
    expect(() => keys.namespace('Bad:NS')).toThrow(/Invalid key namespace/);
  });
});

describe('retryDelay', () => {
  it('grows exponentially from 50 ms, with jitter, capped at 2 s', () => {
    expect(retryDelay(0, 50, 2000, () => 1)).toBe(50);
    expect(retryDelay(3, 50, 2000, () => 1)).toBe(400);
    expect(retryDelay(3, 50, 2000, () => 0)).toBe(200);
    expect(retryDelay(50, 50, 2000, () => 1)).toBe(2000);
    for (let i = 0; i < 100; i++) expect(retryDelay(i)).toBeLessThanOrEqual(2000);
  });
});

describe('loadLuaScripts', () => {
  it('loads every script of a folder with its key count and a camelCase name', () => {
    const scripts = loadLuaScripts(join(__dirname, 'lua'));
    expect(scripts.find((s) => s.name === 'compareAndDelete')).toMatchObject({ numberOfKeys: 1 });
  });
});
