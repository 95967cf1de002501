import { http } from '../support/app';
import { describeOnPlatforms } from '../support/platforms';
import { rawRequest } from '../support/raw-http';

/** The value of one sample in a Prometheus text exposition (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inside = line.slice(name.length + 1, line.lastIndexOf('}'));
    const have = inside.split(',');
    if (want.every((w) => have.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

describeOnPlatforms('metrics', (t) => {
  const scrape = async () => (await http(`${t.url}/metrics`)).text;

  it('cache_requests_total counts a miss whose loader throws (a 404 user)', async () => {
    const labels = { cache: 'users', result: 'miss' };
    const before = sample(await scrape(), 'cache_requests_total', labels);
    const loadsBefore = sample(await scrape(), 'cache_loads_total', { cache: 'users' });
    expect((await http(`${t.url}/api/users/424242`)).status).toBe(404);
    const text = await scrape();
    expect(sample(text, 'cache_loads_total', { cache: 'users' })).toBe(loadsBefore + 1);
    expect(sample(text, 'cache_requests_total', labels)).toBe(before + 1);
  });

  it('requests refused before their handler keep their route: malformed JSON (400) and a body over the limit (413)', async () => {
    const count = (text: string, status: string) =>
      sample(text, 'http_request_duration_seconds_count', {
        method: 'POST',
        route: '/api/users',
        status_code: status,
      });
    const before = await scrape();
    await http(`${t.url}/api/users`, {
      method: 'POST',
      raw: '{"email": ',
      headers: { 'content-type': 'application/json' },
    });
    await http(`${t.url}/api/users`, {
      method: 'POST',
      body: {
        email: 'big@example.com',
        name: 'x'.repeat(200 * 1024),
        password: 'correct horse battery',
      },
    });
    const after = await scrape();
    expect(count(after, '400')).toBe(count(before, '400') + 1);
    expect(count(after, '413')).toBe(count(before, '413') + 1);
    expect(after).not.toMatch(/route="unmatched",status_code="413"/);
  });

  it('requests Node’s parser refuses are counted (route "unparsed"): 400 and 431', async () => {
    const count = (text: string, status: string) =>
      sample(text, 'http_request_duration_seconds_count', {
        route: 'unparsed',
        status_code: status,
      });
    const before = await scrape();
    await rawRequest(t.url, 'GET /health/live HTTP/1.1 extra\r\nHost: x\r\n\r\n');
    await rawRequest(
      t.url,
      `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'x'.repeat(17 * 1024)}\r\n\r\n`,
    );
    const after = await scrape();
    expect(count(after, '400')).toBe(count(before, '400') + 1);
    expect(count(after, '431')).toBe(count(before, '431') + 1);
  });

  it('the duration histogram has buckets between 1 s and 2.5 s (the report route takes about 1 s)', async () => {
    const text = await scrape();
    for (const le of ['0.75', '1', '1.25', '1.5', '2'])
      expect(text).toContain(`http_request_duration_seconds_bucket{le="${le}"`);
  });
});
