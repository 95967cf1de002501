import { eventually, http } from '../support/app';
import { LogCapture, LogProbeModule } from '../support/log-capture';
import { describeOnPlatforms, PlatformAppOptions } from '../support/platforms';

// nestjs-pino keeps one root logger per process: every app of this file writes to the stream
// the first one was given, so the file shares one capture and tells requests apart by id.
const logs = new LogCapture();

const appOptions: PlatformAppOptions = {
  env: { LOG_LEVEL: 'info' },
  logStream: logs,
  extraModules: [LogProbeModule],
};

type Line = Record<string, unknown> & { reqId?: string; msg?: string; context?: string };

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

  it('put the request id on every line the app writes during the request, concurrent requests apart', async () => {
    const n = 12;
    const tags = Array.from({ length: n }, (_, i) => `${platform}-c${i}`);
    const answers = await Promise.all(
      tags.map((tag, i) =>
        i % 2 === 0
          ? http(`${t.url}/log-probe/${tag}`, { headers: { 'x-request-id': `id-${tag}` } })
          : http(`${t.url}/log-probe`, {
              method: 'POST',
              body: { tag },
              headers: { 'x-request-id': `id-${tag}` },
            }),
      ),
    );
    for (const [i, res] of answers.entries()) {
      expect(res.status).toBe(i % 2 === 0 ? 200 : 201);
      expect(res.headers.get('x-request-id')).toBe(`id-${tags[i]}`);
    }
    const probe = (): Line[] => (logs.lines as Line[]).filter((l) => l.context === 'LogProbe');
    await eventually(
      async () => probe().filter((l) => tags.some((tag) => l.msg?.endsWith(` ${tag}`))),
      (l) => l.length >= n + n / 2,
    );
    for (const [i, tag] of tags.entries()) {
      const mine = probe().filter((l) => l.msg?.endsWith(` ${tag}`));
      expect(mine.map((l) => l.msg)).toEqual(
        i % 2 === 0 ? [`before ${tag}`, `after ${tag}`] : [`body ${tag}`],
      );
      for (const line of mine) expect(line.reqId).toBe(`id-${tag}`);
      // The request's own line carries the same id, the response's status and the time taken.
      const done = await eventually(
        async () => logs.completed(`id-${tag}`),
        (l) => l !== undefined,
      );
      expect(done).toMatchObject({ res: { statusCode: i % 2 === 0 ? 200 : 201 } });
      expect(typeof done?.responseTime).toBe('number');
    }
  });

  it('make up an id when none is sent, the same in the response, the request line and the app’s lines', async () => {
    const res = await http(`${t.url}/log-probe/${platform}-noid`);
    expect(res.status).toBe(200);
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const lines = await eventually(
      async () => (logs.lines as Line[]).filter((l) => l.reqId === id),
      (l) => l.length >= 2,
    );
    expect(lines.map((l) => l.msg)).toEqual([`before ${platform}-noid`, `after ${platform}-noid`]);
    expect(await eventually(async () => logs.completed(id!), Boolean)).toBeDefined();
  });

  it('log a 5xx as "request errored", with the error line of the filter under the same id', async () => {
    const id = `fail-${platform}`;
    const res = await http(`${t.url}/log-probe/fail/now`, { headers: { 'x-request-id': id } });
    expect(res.status).toBe(500);
    const line = await eventually(
      async () => logs.requestLines(id).find((l) => l.msg === 'request errored'),
      (l) => l !== undefined,
    );
    expect(line).toMatchObject({
      res: { statusCode: 500 },
      err: { message: 'failed with status code 500' },
    });
    expect(logs.completed(id)).toBeUndefined();
    const filterLine = (logs.lines as Line[]).find(
      (l) => l.reqId === id && String(l.msg).includes('log-probe failure'),
    );
    expect(filterLine).toBeDefined();
  });

  it('log a request whose client left before the answer as "request aborted", once', async () => {
    const id = `gone-${platform}`;
    await expect(
      fetch(`${t.url}/log-probe/slow/${id}`, {
        headers: { 'x-request-id': id },
        signal: AbortSignal.timeout(50),
      }),
    ).rejects.toThrow();
    const aborted = await eventually(
      async () => logs.requestLines(id).filter((l) => l.msg === 'request aborted'),
      (l) => l.length > 0,
    );
    expect(aborted).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 500)); // the handler has answered into the closed socket
    expect(logs.requestLines(id).map((l) => l.msg)).toEqual(['request aborted']);
  });
});
