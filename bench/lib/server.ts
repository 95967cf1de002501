/**
 * The server child's side of the benchmarks (imported by the two server.ts, so a child loads
 * nothing of the runner): its REDIS_URL, the config of an app under test (also used by the
 * in-process lock benchmark), listening and reporting `ready` over IPC, and closing when told
 * to or when the runner goes away.
 */
import type { INestApplication } from '@nestjs/common';
import { AppConfig, loadConfig } from '../../src/config';

/** REDIS_URL as the runner sets it: a private loopback redis-server, never port 6379. */
export function privateRedisUrl(url = process.env.REDIS_URL): string {
  if (!url || !/^redis:\/\/127\.0\.0\.1:\d+$/.test(url) || url.endsWith(':6379'))
    throw new Error(`REDIS_URL must be a private loopback redis-server (got "${url}")`);
  return url;
}

/** Only the keys the benchmark sets: nothing from the caller's environment leaks in. */
export function benchConfig(
  redisUrl: string,
  extra: Record<string, string | undefined> = {},
): AppConfig {
  return loadConfig({
    NODE_ENV: 'development',
    LOG_LEVEL: 'silent',
    DATABASE_URL: 'memory://',
    REDIS_URL: redisUrl,
    REDIS_PREFIX: 'bench',
    ...extra,
  });
}

/**
 * Listens on 127.0.0.1 (a free port) and reports `{ type: 'ready', port, pid }` over IPC
 * (stdout when started by hand). On SIGTERM, SIGINT or when the parent goes away: `beforeClose`,
 * then `app.close()` and exit 0 (at most 3 s later).
 */
export async function serveUntilStopped(
  app: INestApplication,
  beforeClose?: () => void,
): Promise<void> {
  await app.listen(0, '127.0.0.1');
  const addr = app.getHttpServer().address() as { port: number };

  let closing = false;
  const close = (code: number) => {
    if (closing) return;
    closing = true;
    const hard = setTimeout(() => process.exit(code), 3000);
    hard.unref();
    beforeClose?.();
    app.close().then(
      () => process.exit(code),
      () => process.exit(code),
    );
  };
  process.on('SIGTERM', () => close(0));
  process.on('SIGINT', () => close(0));
  process.on('disconnect', () => close(0));

  const ready = { type: 'ready', port: addr.port, pid: process.pid };
  if (process.send) process.send(ready);
  else console.log(JSON.stringify(ready));
}

/** Runs a server child's `main`; any error is printed (to the runner's stderr pipe), exit 1. */
export function runServer(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
