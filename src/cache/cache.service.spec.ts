import { deserialize, serialize } from './cache-serializer';

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
