import { INestApplication, Logger } from '@nestjs/common';
import { join } from 'node:path';
import { createApp } from './app.factory';
import { AppConfig, AppRole, ConfigValidationError, loadConfig } from './config/config.schema';
import { RedisServerNotFoundError, RedisServerProcess } from './redis/embedded-redis';

const SHUTDOWN_TIMEOUT_MS = 15_000;

/**
 * Process entry shared by `main.ts` and `worker.ts`: validate the environment (exit 1 naming
 * the variable), start the embedded development Redis when no REDIS_URL is set, build the app
 * of the role, listen, and shut down in order on SIGINT/SIGTERM: the app first (Nest shutdown
 * hooks: workers drain, Redis clients QUIT, the database closes), then the embedded
 * redis-server. This is `app.enableShutdownHooks()` with that last step added.
 */
export async function bootstrap(forcedRole?: AppRole): Promise<void> {
  const logger = new Logger('Bootstrap');
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigValidationError) {
      process.stderr.write(`${err.message}\nSee README.md § Configuration and .env.example.\n`);
      process.exit(1);
    }
    throw err;
  }
  const role = forcedRole ?? config.appRole;

  let embedded: RedisServerProcess | undefined;
  let app: INestApplication | undefined;
  let stopping = false;
  const shutdown = async (reason: string, code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.log(`shutting down (${reason})`);
    const force = setTimeout(() => {
      logger.error(`shutdown took longer than ${SHUTDOWN_TIMEOUT_MS} ms: exiting`);
      process.exit(code || 1);
    }, SHUTDOWN_TIMEOUT_MS);
    force.unref();
    try {
      await app?.close();
    } catch (err) {
      logger.error(`error while closing the app: ${(err as Error).message}`);
    }
    await embedded?.stop();
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => void shutdown(signal, 0));
  }
  process.on('uncaughtException', (err) => {
    logger.error(`uncaught exception: ${err.stack ?? err.message}`);
    void shutdown('uncaughtException', 1);
  });

  try {
    if (config.redis.state.mode === 'embedded') {
      embedded = await new RedisServerProcess({ dir: join(config.dataDir, 'redis') }).start();
      logger.log(
        `started embedded redis-server on ${embedded.url} (data in ${join(config.dataDir, 'redis')}); set REDIS_URL to use your own`,
      );
      config = {
        ...config,
        redis: { ...config.redis, state: { mode: 'standalone', url: embedded.url } },
      };
    }
    app = await createApp(config, role);
    await app.listen(config.port, config.host);
    logger.log(
      `${role} role listening on http://${config.host}:${config.port} (${config.httpPlatform}); docs at /docs`,
    );
  } catch (err) {
    if (err instanceof RedisServerNotFoundError) {
      process.stderr.write(`${err.message}\n`);
    } else {
      logger.error(`start-up failed: ${(err as Error).stack ?? String(err)}`);
    }
    await shutdown('start-up failure', 1);
  }
}
