import { MetricsService } from '../metrics';
import { JobMetrics } from './queue-metrics';

describe('JobMetrics (per-queue tallies exposed in the Prometheus format)', () => {
  it('exposes cumulative buckets, +Inf, sum and count per queue, and attempts by result', async () => {
    const metrics = MetricsService.standalone();
    const email = new JobMetrics(metrics).tally('email');
    email.observe(0.0004, true); // ≤ 0.001
    email.observe(0.001, true); // on a bound: counted in it (le)
    email.observe(0.02, false); // ≤ 0.05
    email.observe(100, true); // beyond 60: +Inf only
    const text = await metrics.registry.metrics();
    const line = (s: string) => text.split('\n').find((l) => l.startsWith(s));
    expect(line('queue_job_duration_seconds_bucket{le="0.001",queue="email"}')).toMatch(/ 2$/);
    expect(line('queue_job_duration_seconds_bucket{le="0.01",queue="email"}')).toMatch(/ 2$/);
    expect(line('queue_job_duration_seconds_bucket{le="0.05",queue="email"}')).toMatch(/ 3$/);
    expect(line('queue_job_duration_seconds_bucket{le="60",queue="email"}')).toMatch(/ 3$/);
    expect(line('queue_job_duration_seconds_bucket{le="+Inf",queue="email"}')).toMatch(/ 4$/);
    expect(line('queue_job_duration_seconds_sum{queue="email"}')).toMatch(/ 100\.0214$/);
    expect(line('queue_job_duration_seconds_count{queue="email"}')).toMatch(/ 4$/);
    expect(line('queue_jobs_total{queue="email",result="completed"}')).toMatch(/ 3$/);
    expect(line('queue_jobs_total{queue="email",result="failed"}')).toMatch(/ 1$/);
    expect(text).toContain('# TYPE queue_job_duration_seconds histogram');
    expect(text).toContain('# TYPE queue_jobs_total counter');
  });

  it('shares one pair of metrics per registry; a reset zeroes the tallies the workers hold', async () => {
    const metrics = MetricsService.standalone();
    const email = new JobMetrics(metrics).tally('email');
    const report = new JobMetrics(metrics).tally('report'); // a second worker of the same app
    email.observe(0.2, true);
    report.observe(0.2, false);
    let text = await metrics.registry.metrics();
    expect(text).toMatch(/queue_jobs_total\{queue="email",result="completed"\} 1\n/);
    expect(text).toMatch(/queue_jobs_total\{queue="report",result="failed"\} 1\n/);
    metrics.registry.resetMetrics();
    email.observe(0.2, true);
    text = await metrics.registry.metrics();
    expect(text).toMatch(/queue_jobs_total\{queue="email",result="completed"\} 1\n/);
    expect(text).toMatch(/queue_jobs_total\{queue="report",result="failed"\} 0\n/);
  });
});
