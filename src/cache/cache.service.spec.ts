import { deserialize, serialize } from './cache-serializer';
import { buildKey, stableStringify } from '../common';

describe('cache serialisation', () => {
  it('round-trips nested Dates and plain data', () => {
    const v = {
      at: new Date('2026-05-06T07:08:09.010Z'),
      list: [new Date(0), 1, 'x', null],
      n: { ok: true },
    };
    expect(deserialize(serialize('k', v))).toEqual(v);
  });

  it('refuses functions at the top level', () => {
    expect(() => serialize('k', () => 1)).toThrow(/Cannot cache the value for "k"/);
  });
});

describe('cache keys', () => {
  it('serialises objects with sorted keys', () => {
    expect(stableStringify({ b: 1, a: { d: 2, c: 3 } })).toBe('{"a":{"c":3,"d":2},"b":1}');
  });

  it('fills route params, argument positions and nested fields', () => {
    const ctx = { args: [7, { id: 9 }], params: { id: '3' }, query: { page: '2' } };
    expect(buildKey('user:{id}', ctx, 'f', true)).toBe('user:3');
    expect(buildKey('list:{page}', ctx, 'f', true)).toBe('list:2');
    expect(buildKey('user:{0}:{1.id}', ctx, 'f', false)).toBe('user:7:9');
    expect(buildKey(undefined, ctx, 'Svc.m', false)).toBe('Svc.m:[7,{"id":9}]');
  });

  it('refuses a placeholder with no value rather than caching under "undefined"', () => {
    expect(() => buildKey('user:{nope}', { args: [], params: {}, query: {} }, 'f', true)).toThrow(
      /no value for \{nope\}/,
    );
  });
});
