import { CacheService } from './cache.service';
import { deserialize, serialize } from './cache-serializer';

describe('XFetch early refresh', () => {
  // shouldRefreshEarly only reads `random`; no Redis is involved in the decision itself.
  const decide = Object.create(CacheService.prototype) as CacheService;

  it.each([
    [100, 50, 1],
    [100, 100, 1],
    [100, 300, 1],
    [100, 100, 2],
    [200, 50, 0.5],
  ])(
    'refreshes with probability exp(-remaining/(δβ)) for remaining %i ms, δ %i ms, β %f',
    (remaining, delta, beta) => {
      // An evenly spread random source: the fraction of draws that refresh is the probability.
      const draws = 20_000;
      let i = 0;
      decide.random = () => (i++ + 0.5) / draws;
      let refreshed = 0;
      for (let d = 0; d < draws; d++)
        if (decide.shouldRefreshEarly(delta, remaining, beta)) refreshed++;
      const expected = Math.exp(-remaining / (delta * beta));
      expect(Math.abs(refreshed / draws - expected)).toBeLessThan(0.005);
    },
  );

  it('never refreshes early with β = 0 or δ = 0', () => {
    decide.random = () => 0.999999;
    expect(decide.shouldRefreshEarly(100, 1, 0)).toBe(false);
    expect(decide.shouldRefreshEarly(0, 1, 1)).toBe(false);
  });
});

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
