import { buildKey, buildTags, compileKey, stableStringify } from './method-keys';

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

describe('compiled keys', () => {
  const route = {
    on: 'route' as const,
    args: [7, { id: 9, tags: { b: 1, a: 2 } }],
    params: { id: '3', slug: 'x:y' },
    query: { page: '2' },
  };
  const method = { ...route, on: 'method' as const };

  it.each([
    'user:{id}',
    'plain',
    '{id}',
    '{id}{slug}:{page}',
    'a:{0}:{1.id}:{1.tags}',
    'x:{}:{id}',
    'u:{1.nope.deeper}:{id}',
  ])('builds the same key as buildKey for %s', (template) => {
    for (const ctx of [route, method]) {
      let expected: string | Error;
      try {
        expected = buildKey(template, ctx, 'F');
      } catch (err) {
        expected = err as Error;
      }
      const compiled = compileKey(template);
      if (expected instanceof Error)
        expect(() => compiled(ctx, () => 'F')).toThrow(expected.message);
      else expect(compiled(ctx, () => 'F')).toBe(expected);
    }
  });

  it('calls the fallback only for a route without a key', () => {
    const fallback = jest.fn(() => 'Ctl.get');
    expect(compileKey('k:{id}')(route, fallback)).toBe('k:3');
    expect(fallback).not.toHaveBeenCalled();
    expect(compileKey(undefined)(route, fallback)).toBe(buildKey(undefined, route, 'Ctl.get'));
    expect(compileKey((c) => `f${c.params.id}`)(route, fallback)).toBe('f3');
  });
});
