import { histogramSamples, MetricValue, TallyMetric, type MetricsService } from '../metrics';

const DURATION = 'queue_job_duration_seconds';
const TOTAL = 'queue_jobs_total';
const BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

/**
 * One queue's job attempts processed by this process: plain numbers, updated once per attempt
 * by the worker's processor wrapper and read at scrape. (prom-client's `observe`/`inc` hash the
 * label set and allocate on every call: a few µs per job on the worker's hot path once they
 * are not yet optimized, as at low job rates; see the README's queue benchmark.)
 */
export class JobTally {
  /** Attempts per bucket (not cumulative); beyond the last bound only `count` grows (+Inf). */
  readonly perBucket = new Float64Array(BUCKETS.length);
  sum = 0;
  count = 0;
  completed = 0;
  failed = 0;

  observe(seconds: number, completed: boolean): void {
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]) i++;
    if (i < BUCKETS.length) this.perBucket[i]++;
    this.sum += seconds;
    this.count++;
    if (completed) this.completed++;
    else this.failed++;
  }

  /** Back to zero, in place (the processor wrapper keeps this object). */
  clear(): void {
    this.perBucket.fill(0);
    this.sum = this.count = this.completed = this.failed = 0;
  }
}

/** Both metrics read the same tallies; resetting either clears them. */
abstract class JobTallyMetric extends TallyMetric {
  constructor(
    name: string,
    help: string,
    protected readonly tallies: Map<string, JobTally>,
  ) {
    super(name, help);
  }

  reset(): void {
    for (const t of this.tallies.values()) t.clear();
  }
}

class DurationHistogram extends JobTallyMetric {
  readonly type = 'histogram';

  protected values(): MetricValue[] {
    return [...this.tallies].flatMap(([queue, t]) =>
      histogramSamples(this.name, BUCKETS, t, { queue }),
    );
  }
}

class ResultCounter extends JobTallyMetric {
  readonly type = 'counter';

  protected values(): MetricValue[] {
    const out: MetricValue[] = [];
    for (const [queue, t] of this.tallies) {
      out.push({ labels: { queue, result: 'completed' }, value: t.completed });
      out.push({ labels: { queue, result: 'failed' }, value: t.failed });
    }
    return out;
  }
}

/**
 * `queue_job_duration_seconds{queue}` (time a processor took per attempt) and
 * `queue_jobs_total{queue,result}` (attempts by result, completed or failed) of this process's
 * workers, registered in the app's metrics registry when the first worker starts.
 */
export class JobMetrics {
  private readonly tallies = new Map<string, JobTally>();

  constructor(metrics: MetricsService) {
    const registry = metrics.registry;
    const existing = registry.getSingleMetric(DURATION) as unknown;
    if (existing instanceof DurationHistogram) {
      this.tallies = (existing as unknown as { tallies: Map<string, JobTally> }).tallies;
      return;
    }
    registry.registerMetric(
      new DurationHistogram(
        DURATION,
        'Time a processor took per job attempt, in seconds',
        this.tallies,
      ) as never,
    );
    registry.registerMetric(
      new ResultCounter(
        TOTAL,
        'Job attempts processed by this process, by queue and result (completed or failed)',
        this.tallies,
      ) as never,
    );
  }

  /** The tally of a queue (created at zero). */
  tally(queue: string): JobTally {
    let t = this.tallies.get(queue);
    if (!t) this.tallies.set(queue, (t = new JobTally()));
    return t;
  }
}
