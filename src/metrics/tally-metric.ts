/** One sample as prom-client's Registry reads it from a metric's `get()`. */
export interface MetricValue {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}

/**
 * A metric whose numbers are plain tallies kept by its owner on a hot path and read at scrape
 * (prom-client's `observe`/`inc` hash the label set and allocate on every call). It is the duck
 * type prom-client's own metrics satisfy, so `registry.registerMetric(m as never)` accepts it.
 * Subclasses say how their tallies read as samples and how they reset.
 */
export abstract class TallyMetric {
  abstract readonly type: 'histogram' | 'counter';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  get(): Promise<{
    name: string;
    help: string;
    type: string;
    values: MetricValue[];
    aggregator: string;
  }> {
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      values: this.values(),
      aggregator: this.aggregator,
    });
  }

  abstract reset(): void;

  protected abstract values(): MetricValue[];
}

/**
 * The `_bucket` (cumulative, then `+Inf`), `_sum` and `_count` samples of one histogram series
 * from its per-bucket (not cumulative) tallies.
 */
export function histogramSamples(
  name: string,
  buckets: readonly number[],
  t: { perBucket: ArrayLike<number>; sum: number; count: number },
  labels: Record<string, string | number>,
): MetricValue[] {
  const out: MetricValue[] = [];
  let cumulative = 0;
  buckets.forEach((le, i) => {
    cumulative += t.perBucket[i];
    out.push({ metricName: `${name}_bucket`, labels: { le, ...labels }, value: cumulative });
  });
  out.push({ metricName: `${name}_bucket`, labels: { le: '+Inf', ...labels }, value: t.count });
  out.push({ metricName: `${name}_sum`, labels: { ...labels }, value: t.sum });
  out.push({ metricName: `${name}_count`, labels: { ...labels }, value: t.count });
  return out;
}
