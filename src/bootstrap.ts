import { type INestApplication, Logger } from '@nestjs/common';
import { type AppConfig, type AppRole, ConfigValidationError, loadConfig } from './config';
import {
  EmbeddedServiceBusyError,
  type EmbeddedServices,
  type EmbeddedStart,
  startEmbeddedServices,
} from './embedded';
// The file, not the ./redis face (it would load ioredis and the Redis module before the
// embedded services are launched: see bootstrap()).
// eslint-disable-next-line nrp/module-faces
import { RedisServerInUseError, RedisServerNotFoundError } from './redis/embedded-redis';

/**
 * How long a shutdown may take before the process exits anyway: 15 s, or more when the queue
 * drain (QUEUE_DRAIN_TIMEOUT_MS) needs it, plus room for the bounded forced close of the
 * workers and the closes after it. An orchestrator's grace period must be longer than this.
 */
export function shutdownTimeoutMs(config: AppConfig): number {
  return Math.max(15_000, config.queue.drainTimeoutMs + 5_000);
}

/**
 * Process entry shared by `main.ts` and `worker.ts`: validate the environment (exit 1 naming
 * the variable), start or join the embedded development services when REDIS_URL or
 * DATABASE_URL is unset (src/embedded: the first process on a DATA_DIR owns the redis-server
 * and the PGlite server, later ones use them), build the app of the role, listen, and shut down
 * in order on SIGINT/SIGTERM: the app first (Nest shutdown hooks: workers drain, Redis clients
 * QUIT, the database closes), then the embedded services this process owns (never the ones
 * it only uses). This is `app.enableShutdownHooks()` with that last step added.
 *
 * Order of a start: the embedded services are launched first (the redis-server child, the
 * PGlite thread), then the app's modules load (about 1.5 s of synchronous `require` on a small
 * machine) while those services come up, then the app is built on them. This file and the
 * embedded start import light module faces and, for Redis and the database, single files, so
 * that little of the app loads before the services are launched.
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

  let starting: EmbeddedStart | undefined;
  let embedded: EmbeddedServices | undefined;
  let app: INestApplication | undefined;
  let stopping = false;
  const shutdown = async (reason: string, code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.log(`shutting down (${reason})`);
    const limitMs = shutdownTimeoutMs(config);
    const force = setTimeout(() => {
      logger.error(`shutdown took longer than ${limitMs} ms: exiting`);
      process.exit(code || 1);
    }, limitMs);
    force.unref();
    // Services still starting are stopped once they are up (within the limit above).
    embedded ??= await starting?.ready.catch(() => undefined);
    // Processes starting from now on wait for this one to finish and take over, instead of
    // attaching to services about to stop.
    embedded?.beginShutdown();
    try {
      await app?.close();
    } catch (err) {
      logger.error(`error while closing the app: ${(err as Error).message}`);
    }
    try {
      await embedded?.stop();
    } catch (err) {
      logger.error(`error while stopping the embedded services: ${(err as Error).message}`);
    }
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
    starting = startEmbeddedServices(config);
    await starting.launched;
    const { createApp } = await import('./app.factory');
    embedded = await starting.ready;
    config = embedded.config;
    app = await createApp(config, role);
    await app.listen(config.port, config.host);
    logger.log(
      `${role} role listening on http://${config.host}:${config.port} (${config.httpPlatform}); docs at /docs`,
    );
  } catch (err) {
    if (
      err instanceof RedisServerNotFoundError ||
      err instanceof RedisServerInUseError ||
      err instanceof EmbeddedServiceBusyError
    ) {
      process.stderr.write(`${err.message}\n`);
    } else if (
      (err as NodeJS.ErrnoException).code === 'EADDRINUSE' &&
      config.metricsPort !== undefined &&
      (err as { port?: number }).port === config.metricsPort
    ) {
      process.stderr.write(
        `METRICS_PORT ${config.metricsPort} on ${config.host} is in use (another API or worker?): give this process its own, e.g. METRICS_PORT=9465\n`,
      );
    } else if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      process.stderr.write(
        `PORT ${config.port} on ${config.host} is in use (another API or worker?): give this process its own, e.g. PORT=3001 npm run start:worker\n`,
      );
    } else {
      logger.error(`start-up failed: ${(err as Error).stack ?? String(err)}`);
    }
    await shutdown('start-up failure', 1);
  }
}
