import { freePort } from '../../src/redis';
import { http, sharedRedisEnv, testPrefix } from '../support/app';
import { issueTokens, logIn, SEEDED_USERS } from '../support/credentials';
import { processGroup, Started, waitReady } from '../support/processes';
import { connectSocket, TestSocket } from '../support/sockets';

/**
 * Realtime as it runs in production: built processes (`npm run build` first) on the shared
 * Redis (standalone or Cluster): two API processes, one per HTTP platform (`dist/main.js`,
 * `APP_ROLE=api`), and a worker process (`dist/worker.js`) with no socket server.
 */
jest.setTimeout(120_000);

describe('realtime across built processes (two APIs, one worker)', () => {
  const group = processGroup();
  const common = {
    ...sharedRedisEnv(),
    REDIS_PREFIX: testPrefix(__filename),
    DATABASE_URL: 'memory://',
    RATE_LIMIT: '1000000/60s',
    REPORT_JOB_WORK_MS: '50',
  };
  let a: { url: string; p: Started };
  let b: { url: string; p: Started };
  const open: TestSocket[] = [];

  async function start(entry: 'main' | 'worker', env: Record<string, string>) {
    const port = await freePort();
    const p = group.run(entry, { ...common, PORT: String(port), ...env });
    const url = `http://127.0.0.1:${port}`;
    await waitReady(url, p);
    return { url, p };
  }

  beforeAll(async () => {
    [a, b] = await Promise.all([
      start('main', { APP_ROLE: 'api', HTTP_PLATFORM: 'fastify' }),
      start('main', { APP_ROLE: 'api', HTTP_PLATFORM: 'express' }),
      start('worker', {}),
    ]);
  });
  afterAll(async () => {
    for (const s of open) s.close();
    await group.cleanup();
  });

  it('delivers job.completed from the worker process and a notification sent through A to a client on B', async () => {
    const grace = await logIn(a.url, SEEDED_USERS.grace.email);
    const onB = await connectSocket(b.url, { cookie: grace });
    open.push(onB);
    const queued = await http(`${a.url}/api/reports`, {
      method: 'POST',
      headers: { cookie: grace },
    });
    expect(queued.status).toBe(202);
    const sent = await http(`${a.url}/api/notify`, {
      method: 'POST',
      headers: { cookie: grace },
      body: { userId: SEEDED_USERS.grace.id, message: 'from process A' },
    });
    expect(sent.status).toBe(200);
    const deadline = Date.now() + 30_000;
    const report = () =>
      onB.events('job.completed').filter((e) => (e as { queue: string }).queue === 'report');
    while (
      (report().length === 0 || onB.events('notification').length === 0) &&
      Date.now() < deadline
    )
      await new Promise((r) => setTimeout(r, 100));
    expect(report()).toEqual([
      expect.objectContaining({ queue: 'report', jobId: queued.body.jobId }),
    ]);
    expect(onB.events('notification')).toEqual([
      expect.objectContaining({ message: 'from process A', from: SEEDED_USERS.grace.id }),
    ]);
  });

  it('closes its sockets and exits 0 on SIGTERM', async () => {
    const t = await issueTokens(b.url, SEEDED_USERS.alan.email);
    const s = await connectSocket(b.url, { token: t.accessToken });
    open.push(s);
    b.p.proc.kill('SIGTERM');
    expect(await s.disconnected).toMatch(/server disconnect|transport close/);
    expect(await b.p.exited).toBe(0);
  });
});
