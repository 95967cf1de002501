import { http } from '../support/app';
import { describeOnPlatforms } from '../support/platforms';

/**
 * The documented off-switches of per-request features (used by `npm run bench:stack` to
 * measure each one's share): each turns its feature off and nothing else.
 */
describeOnPlatforms('RATE_LIMIT=off', { env: { RATE_LIMIT: 'off' } }, (t) => {
  it('lets every request through with no RateLimit headers, where 100/60s would refuse', async () => {
    const res = await Promise.all(Array.from({ length: 120 }, () => http(`${t.url}/api/pages/1`)));
    expect(res.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
    expect(res.some((r) => r.headers.has('ratelimit') || r.headers.has('ratelimit-policy'))).toBe(
      false,
    );
  });
});

describeOnPlatforms('HTTP_METRICS=false', { env: { HTTP_METRICS: 'false' } }, (t) => {
  it('records no HTTP request durations; the other metrics are still served', async () => {
    for (let i = 0; i < 3; i++) expect((await http(`${t.url}/api/users/1`)).status).toBe(200);
    const metrics = await http(`${t.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.text).not.toMatch(/^http_request_duration_seconds_count\{/m);
    expect(metrics.text).toMatch(/^cache_requests_total\{/m);
    // The rate limiter is still on.
    expect((await http(`${t.url}/api/users/1`)).headers.has('ratelimit')).toBe(true);
  });
});
