import { jitteredTtl, shouldRefreshEarly } from './cache-expiry';

/** An evenly spread random source over `draws` calls: the fraction that hits is the probability. */
function evenly(draws: number): () => number {
  let i = 0;
  return () => (i++ + 0.5) / draws;
}

describe('XFetch early refresh', () => {
  it.each([
    [100, 50, 1],
    [100, 100, 1],
    [100, 300, 1],
    [100, 100, 2],
    [200, 50, 0.5],
  ])(
    'refreshes with probability exp(-remaining/(δβ)) for remaining %i ms, δ %i ms, β %f',
    (remaining, delta, beta) => {
      const draws = 20_000;
      const random = evenly(draws);
      let refreshed = 0;
      for (let d = 0; d < draws; d++)
        if (shouldRefreshEarly(delta, remaining, beta, random)) refreshed++;
      const expected = Math.exp(-remaining / (delta * beta));
      expect(Math.abs(refreshed / draws - expected)).toBeLessThan(0.005);
    },
  );

  it('uses β = 1 when the call gives none', () => {
    const draws = 20_000;
    const random = evenly(draws);
    let refreshed = 0;
    for (let d = 0; d < draws; d++)
      if (shouldRefreshEarly(100, 100, undefined, random)) refreshed++;
    expect(Math.abs(refreshed / draws - Math.exp(-1))).toBeLessThan(0.005);
  });

  it('never refreshes early with β = 0 or δ = 0', () => {
    const random = () => 0.999999;
    expect(shouldRefreshEarly(100, 1, 0, random)).toBe(false);
    expect(shouldRefreshEarly(0, 1, 1, random)).toBe(false);
  });
});

describe('TTL jitter', () => {
  it('shortens the TTL by up to the jitter fraction, spread evenly, never below 1 ms', () => {
    const draws = 1_000;
    const random = evenly(draws);
    const ttls = Array.from({ length: draws }, () => jitteredTtl(10_000, 0.2, random));
    expect(Math.max(...ttls)).toBeLessThanOrEqual(10_000);
    expect(Math.min(...ttls)).toBeGreaterThanOrEqual(8_000);
    expect(Math.abs(ttls.reduce((a, b) => a + b, 0) / draws - 9_000)).toBeLessThan(10);
    expect(jitteredTtl(1, 1, () => 0.999)).toBe(1);
    expect(jitteredTtl(10_000, 5, () => 0.5)).toBe(5_000); // a fraction above 1 counts as 1
  });

  it('leaves the TTL alone without jitter', () => {
    expect(jitteredTtl(10_000, undefined, () => 0.5)).toBe(10_000);
    expect(jitteredTtl(10_000, 0, () => 0.5)).toBe(10_000);
  });
});
