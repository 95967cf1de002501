import { MetricValue, TallyMetric, type MetricsService } from '../metrics';

const ACQUIRE = 'lock_acquire_total';
const LOST = 'lock_lost_total';

/**
 * The lock counters of one registry: plain numbers bumped on every acquisition and read at
 * scrape (prom-client's `inc({ result })` hashes the label set on every call, on the path of
 * every acquisition).
 */
export class LockTally {
  acquired = 0;
  contended = 0;
  error = 0;
  lost = 0;
}

/** Both metrics read the same tally; resetting either clears it. */
abstract class LockTallyMetric extends TallyMetric {
  constructor(
    name: string,
    help: string,
    readonly tally: LockTally,
  ) {
    super(name, help);
  }

  reset(): void {
    const t = this.tally;
    t.acquired = t.contended = t.error = t.lost = 0;
  }
}

class AcquireCounter extends LockTallyMetric {
  readonly type = 'counter';

  protected values(): MetricValue[] {
    const t = this.tally;
    return [
      { labels: { result: 'acquired' }, value: t.acquired },
      { labels: { result: 'contended' }, value: t.contended },
      { labels: { result: 'error' }, value: t.error },
    ];
  }
}

class LostCounter extends LockTallyMetric {
  readonly type = 'counter';

  protected values(): MetricValue[] {
    return [{ labels: {}, value: this.tally.lost }];
  }
}

/**
 * `lock_acquire_total{result}` (`acquired|contended|error`) and `lock_lost_total` in the app's
 * registry, registered by the first LockService of that registry and shared by the others.
 */
export function lockTally(metrics: MetricsService): LockTally {
  const registry = metrics.registry;
  const existing = registry.getSingleMetric(ACQUIRE) as unknown;
  if (existing instanceof AcquireCounter) return existing.tally;
  const tally = new LockTally();
  // Registered by something else under our name (another copy of this module): count unexposed.
  if (existing !== undefined) return tally;
  registry.registerMetric(
    new AcquireCounter(ACQUIRE, 'Lock acquisitions by result', tally) as never,
  );
  registry.registerMetric(
    new LostCounter(LOST, 'Leases lost while their holder was running', tally) as never,
  );
  return tally;
}
