import { Logger, type LoggerService } from '@nestjs/common';
import { join, resolve } from 'node:path';
import { currentProcess, ProcessIdentity, sleep } from '../common';
import type { AppConfig } from '../config';
// Two files, not the ../database and ../redis faces: the embedded services start before the
// app's modules load (src/bootstrap.ts), and those faces would load about a third of them
// (ioredis, pg, their Nest modules) first.
// eslint-disable-next-line nrp/module-faces
import { startPgliteServer } from '../database/pglite-server';
// eslint-disable-next-line nrp/module-faces
import { RedisServerProcess } from '../redis/embedded-redis';
import { OwnerElection, readServiceState, writeServiceState } from './owner-election';

const DEFAULT_WAIT_MS = 60_000;
const POLL_MS = 100;

/**
 * A later process found a live owner of an embedded service that did not become ready in
 * time. The message names the ways out.
 */
export class EmbeddedServiceBusyError extends Error {
  constructor(
    label: string,
    owner: ProcessIdentity,
    dataDir: string,
    variable: string,
    ms: number,
  ) {
    super(
      [
        `The embedded ${label} under ${dataDir} belongs to process ${owner.pid}, which has not made it ready within ${ms / 1000} s.`,
        'Do one of:',
        `  - wait for process ${owner.pid} to finish starting (or stop it) and start this one again;`,
        `  - give this process its own data directory: DATA_DIR=/some/other/dir;`,
        `  - point it at a server of your own: ${variable}=…`,
      ].join('\n'),
    );
    this.name = 'EmbeddedServiceBusyError';
  }
}

/** What an owner runs: its URL and port, and how to stop it. */
export interface RunningService {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** One embedded service as this process sees it. */
export interface EmbeddedService {
  readonly role: 'owner' | 'dependent';
  readonly url: string;
  /** The owning process (this one, for an owner). */
  readonly owner: ProcessIdentity;
  /** Owner: tell later processes not to attach any more (they wait and take over). */
  beginShutdown(): void;
  /** Owner: stop the service and give ownership up. Dependent: nothing (never stops the owner's service). */
  stop(): Promise<void>;
}

export interface OwnOrUseOptions {
  /** `DATA_DIR/embedded`: lock and state files. */
  stateDir: string;
  service: 'redis' | 'pglite';
  /** For messages: "redis-server", "PGlite database". */
  label: string;
  /** For messages: the variable that replaces the embedded service. */
  variable: 'REDIS_URL' | 'DATABASE_URL';
  dataDir: string;
  /**
   * Starts the service; `preferredPort` is the port of the previous run, to reuse when free.
   * Calls `launched` once the service's process or thread exists (it may not answer yet).
   */
  start(preferredPort: number | undefined, launched: () => void): Promise<RunningService>;
  waitMs?: number;
  /**
   * Called once nothing is left for this process to launch: it started the service's process
   * or thread (see `start`), found the service owned by another process, or failed.
   */
  launched?: () => void;
}

/**
 * Becomes the owner of an embedded service and starts it, or uses the one a live owner runs.
 * A dependent waits (up to `waitMs`) while the owner is starting; if the owner dies or
 * releases meanwhile, the election runs again and this process may become the owner.
 */
export async function ownOrUse(o: OwnOrUseOptions): Promise<EmbeddedService> {
  const launched = o.launched ?? (() => undefined);
  try {
    return await electAndStart(o, launched);
  } finally {
    launched();
  }
}

async function electAndStart(o: OwnOrUseOptions, launched: () => void): Promise<EmbeddedService> {
  const me = currentProcess();
  const election = new OwnerElection(o.stateDir, o.service, me);
  const waitMs = o.waitMs ?? DEFAULT_WAIT_MS;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const e = election.elect();
    if (e.role === 'owner') {
      let running: RunningService;
      try {
        running = await o.start(readServiceState(o.stateDir, o.service)?.port, launched);
      } catch (err) {
        try {
          election.release(e.gen);
        } catch {
          // keep the start-up error; this process's exit releases it as well
        }
        throw err;
      }
      const state = { gen: e.gen, ...me, url: running.url, port: running.port };
      writeServiceState(o.stateDir, o.service, { ...state, ready: true });
      // While stopping: best effort (the directory may be gone); dependents also see this
      // process die, or its released marker.
      const publish = (ready: boolean) => {
        try {
          writeServiceState(o.stateDir, o.service, { ...state, ready });
        } catch {
          // nothing to tell
        }
      };
      let stopped: Promise<void> | undefined;
      return {
        role: 'owner',
        url: running.url,
        owner: me,
        beginShutdown: () => publish(false),
        stop: () =>
          (stopped ??= (async () => {
            publish(false);
            try {
              await running.stop();
            } finally {
              try {
                election.release(e.gen);
              } catch {
                // the directory is gone: this process's exit releases it as well
              }
            }
          })()),
      };
    }
    launched(); // another process owns it: nothing to launch here, only to wait for
    const state = readServiceState(o.stateDir, o.service);
    if (state?.ready && state.gen === e.gen && state.pid === e.owner.pid) {
      return {
        role: 'dependent',
        url: state.url,
        owner: e.owner,
        beginShutdown: () => undefined,
        stop: async () => undefined,
      };
    }
    if (Date.now() > deadline)
      throw new EmbeddedServiceBusyError(o.label, e.owner, o.dataDir, o.variable, waitMs);
    await sleep(POLL_MS);
  }
}

/** The embedded services of this process, and the configuration that points at them. */
export interface EmbeddedServices {
  config: AppConfig;
  services: EmbeddedService[];
  beginShutdown(): void;
  /** Stops what this process owns: PGlite, then the redis-server. */
  stop(): Promise<void>;
}

/** A start under way (see {@link startEmbeddedServices}). */
export interface EmbeddedStart {
  /**
   * Resolves once every service this process owns has been launched (the redis-server spawned,
   * the PGlite thread started) or found running under another owner, or the start has failed:
   * what is left is waiting for them, so the caller can do other work meanwhile.
   */
  readonly launched: Promise<void>;
  /**
   * The services once all are ready. On failure, the ones that did start are stopped first;
   * the error is the redis-server's when both failed.
   */
  readonly ready: Promise<EmbeddedServices>;
}

/**
 * Development defaults for several local processes on one DATA_DIR (`npm start`, the worker,
 * a second API on another PORT): with no REDIS_URL, one redis-server under DATA_DIR/redis;
 * with no DATABASE_URL, one PGlite under DATA_DIR/pglite served over the PostgreSQL wire
 * protocol on loopback. Each service has its own owner, elected independently: the first
 * process to need it starts it, later ones use it, and only the owner stops it (on shutdown,
 * or its watchdog when it is killed). Owners reuse their ports across restarts, so a
 * dependent that outlives its owner reconnects by itself when the owner starts again. Every
 * process, the owner included, reaches the database through the wire server.
 *
 * Both services start at once: the redis-server is a child process and PGlite runs in a thread
 * of its own (./pglite-server.ts), so neither waits for the other, and the caller can load the
 * app's modules meanwhile (`launched`).
 */
export function startEmbeddedServices(
  config: AppConfig,
  logger: Pick<LoggerService, 'log' | 'warn' | 'error'> = new Logger('Embedded'),
): EmbeddedStart {
  const dataDir = resolve(config.dataDir);
  const stateDir = join(dataDir, 'embedded');
  const launches: Promise<void>[] = [];
  const launch = () => {
    let done!: () => void;
    launches.push(new Promise<void>((r) => (done = r)));
    return done;
  };

  const redisDir = join(dataDir, 'redis');
  const redisState = config.redis.state;
  const redis =
    redisState.mode === 'embedded'
      ? ownOrUse({
          stateDir,
          service: 'redis',
          label: 'redis-server',
          variable: 'REDIS_URL',
          dataDir,
          launched: launch(),
          start: async (preferredPort, launched) => {
            const server = await new RedisServerProcess({
              binary: redisState.binary,
              dir: redisDir,
              preferredPort,
              onSpawn: launched,
            }).start();
            return { url: server.url, port: server.port, stop: () => server.stop() };
          },
        })
      : undefined;

  const pgliteDir =
    config.database.kind === 'pglite' && config.database.dataDir !== null
      ? resolve(config.database.dataDir)
      : undefined;
  const db =
    pgliteDir !== undefined
      ? ownOrUse({
          stateDir,
          service: 'pglite',
          label: 'PGlite database',
          variable: 'DATABASE_URL',
          dataDir,
          launched: launch(),
          start: (preferredPort, launched) => {
            const running = startPgliteServer(
              pgliteDir,
              preferredPort,
              new Logger('PgliteWireServer'),
            );
            launched(); // the thread exists
            return running;
          },
        })
      : undefined;

  const ready = (async (): Promise<EmbeddedServices> => {
    const settled = await Promise.allSettled([redis, db]);
    // Stopped in reverse order: PGlite first, then the redis-server (as when they started one
    // after the other).
    const services = settled.flatMap((r) => (r.status === 'fulfilled' && r.value ? [r.value] : []));
    const stopAll = async () => {
      for (const s of [...services].reverse()) await s.stop();
    };
    const failure = settled.find((r) => r.status === 'rejected');
    if (failure) {
      await stopAll().catch(() => undefined);
      throw failure.reason;
    }
    const [redisService, dbService] = settled.map((r) =>
      r.status === 'fulfilled' ? r.value : undefined,
    );
    if (redisService) {
      logger.log(
        redisService.role === 'owner'
          ? `started embedded redis-server on ${redisService.url} (data in ${redisDir}); later processes with this DATA_DIR use it; set REDIS_URL to use your own`
          : `using the embedded redis-server of process ${redisService.owner.pid} on ${redisService.url} (DATA_DIR ${dataDir})`,
      );
      config = {
        ...config,
        redis: { ...config.redis, state: { mode: 'standalone', url: redisService.url } },
      };
    }
    if (dbService) {
      logger.log(
        dbService.role === 'owner'
          ? `serving PGlite (data in ${pgliteDir}) on ${dbService.url} for this and later processes with this DATA_DIR`
          : `using the PGlite database of process ${dbService.owner.pid} on ${dbService.url} (DATA_DIR ${dataDir})`,
      );
      // The embedded server runs every client's statements on one PGlite backend, one unit at
      // a time: under a burst the processes' pools queue for it much longer than for a real
      // server, so waiting up to 30 s for a connection beats answering 503 in development.
      config = {
        ...config,
        database: {
          kind: 'postgres',
          url: dbService.url,
          schema: 'public',
          connectTimeoutMs: 30_000,
        },
      };
    }
    return {
      config,
      services,
      beginShutdown: () => services.forEach((s) => s.beginShutdown()),
      stop: stopAll,
    };
  })();
  // Handled here too: the caller may still be loading modules when a start fails at once
  // (no redis-server binary), and awaits `ready` only afterwards.
  ready.catch(() => undefined);
  return {
    launched: Promise.race([
      Promise.all(launches).then(() => undefined),
      ready.then(
        () => undefined,
        () => undefined,
      ),
    ]),
    ready,
  };
}
