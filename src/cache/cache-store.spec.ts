import { RedisKeys } from '../redis';
import type { RedisClient } from '../redis';
import { serialize } from './cache-serializer';
import { CacheStore, formatEnvelope, parseEnvelope } from './cache-store';
import { resolveCacheOptions } from './cache.module-definition';

describe('cache entry envelope', () => {
  const meta = {
    p: 1 as const,
    d: 12,
    c: 1_700_000_000_000,
    g: 500,
    e: 1_700_000_060_000,
    t: ['a\nb'],
  };

  it('keeps the value’s JSON text as it is after one line of metadata', () => {
    const value = { text: 'line\nbreak "quoted" ✓', list: [1, { a: null }] };
    const body = serialize('k', value);
    const raw = formatEnvelope(meta, body);
    expect(raw.endsWith(`\n${JSON.stringify(value)}`)).toBe(true);
    const env = parseEnvelope(raw);
    expect(env).toEqual({ ...meta, v: body });
    expect(JSON.parse(env.v)).toEqual(value);
  });

  it('reads entries written before it (one JSON object, the value as a string)', () => {
    const legacy = JSON.stringify({ v: '{"a":1}', p: 1, d: 3, c: 4, g: 0, e: 5 });
    expect(parseEnvelope(legacy)).toEqual({ v: '{"a":1}', p: 1, d: 3, c: 4, g: 0, e: 5 });
  });
});

describe('cache entry keys', () => {
  const store = new CacheStore(
    {} as RedisClient,
    {} as RedisClient,
    resolveCacheOptions(),
    new RedisKeys('nrp'),
  );
  const keys = new RedisKeys('nrp').namespace('cache');

  it.each([
    ['users', 'user:7'],
    ['users', 'plain'],
    ['a-b', 'x.y@z=1+2_3-4'],
    ['users', 'user::7'],
    ['users', ':lead'],
    ['users', 'trail:'],
    ['users', 'sp ace:7'],
    ['users', `long:${'x'.repeat(65)}`],
    ['users', `edge:${'x'.repeat(64)}`],
    ['Bad Cache', 'user:7'],
    ['users', 'ünï:7'],
    ['users', 'Ctl.get:{"p":{"id":"3"},"q":{}}'],
  ])('%s / %s: the key RedisKeys builds', (cache, key) => {
    expect(store.entryKey(cache, key)).toBe(keys.key(cache, ...key.split(':')));
    expect(store.entryKey(cache, key)).toBe(keys.key(cache, ...key.split(':'))); // remembered base
  });
});
