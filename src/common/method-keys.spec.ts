import { buildKey, buildTags, stableStringify } from './method-keys';

describe('method-call keys', () => {
  it('serialises objects with sorted keys', () => {
    expect(stableStringify({ b: 1, a: { d: 2, c: 3 } })).toBe('{"a":{"c":3,"d":2},"b":1}');
  });

  it('fills route params, argument positions and nested fields', () => {
    const route = {
      on: 'route' as const,
      args: [7, { id: 9 }],
      params: { id: '3' },
      query: { page: '2' },
    };
    expect(buildKey('user:{id}', route)).toBe('user:3');
    expect(buildKey('list:{page}', route)).toBe('list:2');
    const method = { ...route, on: 'method' as const };
    expect(buildKey('user:{0}:{1.id}', method)).toBe('user:7:9');
    expect(buildKey(undefined, method, 'Svc.m')).toBe('Svc.m:[7,{"id":9}]');
    expect(buildKey(undefined, route, 'Ctl.get')).toBe('Ctl.get:{"p":{"id":"3"},"q":{"page":"2"}}');
  });

  it('reads names only on routes: a provider method has arguments, not params', () => {
    const method = { on: 'method' as const, args: [], params: { id: '3' }, query: {} };
    expect(() => buildKey('user:{id}', method)).toThrow(/no value for \{id\}/);
  });

  it('refuses a placeholder with no value rather than keying under "undefined"', () => {
    expect(() => buildKey('user:{nope}', { on: 'route', args: [], params: {}, query: {} })).toThrow(
      /no value for \{nope\}/,
    );
  });

  it('builds tags from templates or a function', () => {
    const ctx = { on: 'route' as const, args: [], params: { id: '3' }, query: {} };
    expect(buildTags(['user:{id}', 'users'], ctx)).toEqual(['user:3', 'users']);
    expect(buildTags((c) => [`u${c.params.id}`], ctx)).toEqual(['u3']);
    expect(buildTags(undefined, ctx)).toBeUndefined();
  });
});
