import { Inject, Injectable, Optional } from '@nestjs/common';
import {
  collectDefaultMetrics,
  Counter,
  CounterConfiguration,
  Gauge,
  GaugeConfiguration,
  Histogram,
  HistogramConfiguration,
  Registry,
} from 'prom-client';
import { UNPARSED } from './metrics.constants';
import { METRICS_MODULE_OPTIONS, MetricsModuleOptions } from './metrics.module-definition';

/**
 * The process's Prometheus registry. Modules register their metrics here (never on prom-client's
 * global registry, so several apps in one process, as in tests, do not collide).
 *
 * @example
 * this.hits = metrics.counter({ name: 'cache_requests_total', help: '…', labelNames: ['cache', 'result'] });
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;

  constructor(@Optional() @Inject(METRICS_MODULE_OPTIONS) options: MetricsModuleOptions = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.httpDuration = this.histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration in seconds, by method, route template and status code',
      labelNames: ['method', 'route', 'status_code'],
      // Dense around the slowest route (the ~1 s report) so its p99 is not read as 2.5 s.
      buckets: [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 3, 5, 10,
      ],
    });
  }

  /**
   * Counts a request Node's HTTP parser refused before any framework saw it (bad request line,
   * headers too large, request timeout): in the same histogram, route `unparsed`, no duration.
   */
  observeUnparsed(statusCode: number): void {
    this.httpDuration.observe(
      { method: 'UNKNOWN', route: UNPARSED, status_code: String(statusCode) },
      0,
    );
  }

  /**
   * A registry of its own for a module used without MetricsModule (its metrics are kept but not
   * exposed): feature modules work in an app that does not scrape them.
   */
  static standalone(): MetricsService {
    return new MetricsService({ defaultMetrics: false });
  }

  counter<L extends string>(c: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
    return this.existing(c.name) ?? new Counter({ ...c, registers: [this.registry] });
  }

  gauge<L extends string>(c: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L> {
    return this.existing(c.name) ?? new Gauge({ ...c, registers: [this.registry] });
  }

  histogram<L extends string>(c: Omit<HistogramConfiguration<L>, 'registers'>): Histogram<L> {
    return this.existing(c.name) ?? new Histogram({ ...c, registers: [this.registry] });
  }

  private existing<T>(name: string): T | undefined {
    return this.registry.getSingleMetric(name) as T | undefined;
  }
}
