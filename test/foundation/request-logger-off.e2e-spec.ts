import { eventually, http } from '../support/app';
import { LogCapture } from '../support/log-capture';
import { describeOnPlatforms, PlatformAppOptions } from '../support/platforms';

// nestjs-pino keeps one root logger per process (see logs.e2e-spec.ts): one capture per file.
const logs = new LogCapture();

const appOptions: PlatformAppOptions = {
  env: { LOG_LEVEL: 'info', LOG_REQUESTS: 'false' },
  logStream: logs,
};

describeOnPlatforms('LOG_REQUESTS=false', appOptions, (t, platform) => {
  it('writes no request lines; the app’s own lines and the response’s request id remain', async () => {
    const res = await http(`${t.url}/api/users/1`, {
      headers: { 'x-request-id': `off-${platform}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe(`off-${platform}`);
    // The app itself still logs (start-up lines at info).
    const lines = await eventually(
      async () => logs.lines,
      (l) => l.length > 0,
    );
    expect(lines.length).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(logs.lines.filter((l) => l.req !== undefined || l.msg === 'request completed')).toEqual(
      [],
    );
  });
});
