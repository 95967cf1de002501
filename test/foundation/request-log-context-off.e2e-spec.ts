import { eventually, http } from '../support/app';
import { LogCapture, LogProbeModule } from '../support/log-capture';
import { describeOnPlatforms, PlatformAppOptions } from '../support/platforms';

// nestjs-pino keeps one root logger per process (see logs.e2e-spec.ts): one capture per file.
const logs = new LogCapture();

const appOptions: PlatformAppOptions = {
  env: { LOG_LEVEL: 'info', LOG_REQUEST_CONTEXT: 'false' },
  logStream: logs,
  extraModules: [LogProbeModule],
};

describeOnPlatforms('LOG_REQUEST_CONTEXT=false', appOptions, (t, platform) => {
  it('keeps the request line with its id; the app’s own lines during the request carry none', async () => {
    const id = `noctx-${platform}`;
    const res = await http(`${t.url}/log-probe/${id}`, { headers: { 'x-request-id': id } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe(id);
    const done = await eventually(
      async () => logs.completed(id),
      (l) => l !== undefined,
    );
    expect(done).toMatchObject({ req: { id, method: 'GET' }, res: { statusCode: 200 } });
    const own = logs.lines.filter(
      (l) => l.context === 'LogProbe' && String(l.msg).endsWith(` ${id}`),
    );
    expect(own.map((l) => l.msg)).toEqual([`before ${id}`, `after ${id}`]);
    for (const line of own) expect(line).not.toHaveProperty('reqId');
  });
});
