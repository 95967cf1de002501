/**
 * When entries refresh and expire: pure functions of a random source, so the store and the
 * service pass `Math.random` and the unit spec passes an evenly spread sequence.
 */

/**
 * XFetch (Vattani et al., VLDB 2015): refresh early when −δ·β·ln(u) ≥ the fresh time left,
 * u = 1 − random() ∈ (0, 1]. The probability is exp(−freshLeft / (δ·β)): an entry whose load
 * took δ is refreshed by one caller, at random, shortly before it expires, instead of by all of
 * them after it has. β > 1 refreshes earlier; β ≤ 0 or δ ≤ 0 never early.
 *
 * @example
 * if (shouldRefreshEarly(env.d, freshLeft, options.beta, Math.random)) void refresh();
 */
export function shouldRefreshEarly(
  deltaMs: number,
  freshLeftMs: number,
  beta: number | undefined,
  random: () => number,
): boolean {
  const b = beta ?? 1;
  if (b <= 0 || deltaMs <= 0) return false;
  const u = 1 - random();
  return -deltaMs * b * Math.log(u) >= freshLeftMs;
}

/**
 * `ttlMs` shortened by up to `jitter` (a fraction, at most 1) at random, never below 1 ms, so
 * many keys written together do not expire together. No jitter (≤ 0 or undefined): `ttlMs`.
 */
export function jitteredTtl(
  ttlMs: number,
  jitter: number | undefined,
  random: () => number,
): number {
  if (!jitter || jitter <= 0) return ttlMs;
  return Math.max(1, Math.round(ttlMs * (1 - Math.min(jitter, 1) * random())));
}
