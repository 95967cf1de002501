import { eventually, http } from '../support/app';
import { LogCapture } from '../support/log-capture';
import { describeOnPlatforms, PlatformAppOptions } from '../support/platforms';

// nestjs-pino keeps one root logger per process: every app of this file writes to the stream
// the first one was given, so the file shares one capture and tells requests apart by id.
const logs = new LogCapture();

const appOptions: PlatformAppOptions = { env: { LOG_LEVEL: 'info' }, logStream: logs };

describeOnPlatforms('request logs', appOptions, (t, platform) => {
  it('never contain credentials: headers and query-string values are redacted', async () => {
    const secrets = {
      authorization: 'Bearer auth-secret-1',
      'proxy-authorization': 'Basic proxy-secret-2',
      'x-api-key': 'api-key-secret-3',
      cookie: 'sid=cookie-secret-4',
      'x-auth-token': 'header-token-secret-5',
    };
    const query =
      'access_token=qs-secret-6&token=qs-secret-7&password=qs-secret-8&secret=qs-secret-9' +
      '&signature=qs-secret-10&api_key=qs-secret-11&page=2';
    const res = await http(`${t.url}/api/users/1?${query}`, {
      headers: { ...secrets, 'x-request-id': `log-${platform}-1` },
    });
    expect(res.status).toBe(200);
    const lines = await eventually(
      async () => logs.requestLines(`log-${platform}-1`),
      (l) => l.length > 0,
    );
    expect(lines.length).toBeGreaterThan(0);
    const logged = JSON.stringify(lines);
    for (let i = 1; i <= 11; i++) expect(logged).not.toMatch(new RegExp(`secret-${i}\\b`));
    expect(logs.text).not.toMatch(/(auth|proxy|api-key|cookie|qs)-secret/);
    const req = lines[0].req as { url: string; headers: Record<string, string> };
    expect(req.url).toMatch(/^\/api\/users\/1\?access_token=\[redacted\]&.*&page=2$/);
    expect(req.headers['proxy-authorization']).toBe('[redacted]');
    expect(req.headers['x-api-key']).toBe('[redacted]');
  });

  it('leave out /health and /metrics', async () => {
    for (let i = 0; i < 5; i++) {
      await http(`${t.url}/health/live`, { headers: { 'x-request-id': `quiet-${platform}-${i}` } });
      await http(`${t.url}/metrics`, { headers: { 'x-request-id': `quiet-${platform}-m${i}` } });
    }
    await http(`${t.url}/api/users/2`, { headers: { 'x-request-id': `loud-${platform}` } });
    await eventually(
      async () => logs.requestLines(`loud-${platform}`),
      (l) => l.length > 0,
    );
    const quiet = logs.lines.filter((l) =>
      String((l.req as { id?: string } | undefined)?.id ?? '').startsWith(`quiet-${platform}`),
    );
    expect(quiet).toEqual([]);
  });
});
