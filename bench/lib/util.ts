/**
 * Small helpers of both benchmarks and their server children: numeric settings from the
 * environment, `sleep`, median and percentiles.
 */

/** A numeric environment setting (≥ min), or `def` when unset. */
export function num(name: string, def: number, min = 0): number {
  const v = process.env[name];
  if (v === undefined || v.trim() === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number ≥ ${min}`);
  return n;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Median of the finite values; NaN when there are none. */
export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Nearest-rank percentile (p in 0..100); NaN when empty. Sorts `values` in place (no copy). */
export function percentileInPlace(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  values.sort((a, b) => a - b);
  const rank = Math.min(values.length, Math.max(1, Math.ceil((p / 100) * values.length)));
  return values[rank - 1];
}

/** {@link percentileInPlace} on a copy: `values` is left as it is. */
export const percentile = (values: number[], p: number): number =>
  percentileInPlace([...values], p);
