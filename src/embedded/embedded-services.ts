import { PGlite } from '@electric-sql/pglite';
import { Logger } from '@nestjs/common';
import { join, resolve } from 'node:path';
import { currentProcess, ProcessIdentity, sleep } from '../common';
import type { AppConfig } from '../config';
import { PgliteWireServer, pgliteOptions, prepareDataDir } from '../database';
import { RedisServerProcess } from '../redis';
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
  /** Starts the service; `preferredPort` is the port of the previous run, to reuse when free. */
  start(preferredPort: number | undefined): Promise<RunningService>;
  waitMs?: number;
}

/**
 * Becomes the owner of an embedded service and starts it, or uses the one a live owner runs.
 * A dependent waits (up to `waitMs`) while the owner is starting; if the owner dies or
 * releases meanwhile, the election runs again and this process may become the owner.
 */
export async function ownOrUse(o: OwnOrUseOptions): Promise<EmbeddedService> {
  const me = currentProcess();
  const election = new OwnerElection(o.stateDir, o.service, me);
  const waitMs = o.waitMs ?? DEFAULT_WAIT_MS;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const e = election.elect();
    if (e.role === 'owner') {
      let running: RunningService;
      try {
        running = await o.start(readServiceState(o.stateDir, o.service)?.port);
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

/** Starts PGlite on `dir` and serves it on loopback, on `preferredPort` when it is free. */
export async function startPgliteServer(
  dir: string,
  preferredPort: number | undefined,
): Promise<RunningService> {
  await prepareDataDir(dir); // a new cluster from the prepared template, not initdb in process
  const db = await PGlite.create(dir, pgliteOptions());
  try {
    let server: PgliteWireServer;
    try {
      server = await new PgliteWireServer(db, { port: preferredPort ?? 0 }).start();
    } catch (err) {
      if (!preferredPort || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      server = await new PgliteWireServer(db).start();
    }
    return {
      url: server.url,
      port: server.port,
      stop: async () => {
        await server.stop();
        await db.close(); // flushes to disk
      },
    };
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}

/** The embedded services of this process, and the configuration that points at them. */
export interface EmbeddedServices {
  config: AppConfig;
  services: EmbeddedService[];
  beginShutdown(): void;
  /** Stops what this process owns, last started first. */
  stop(): Promise<void>;
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
 */
export async function startEmbeddedServices(
  config: AppConfig,
  logger = new Logger('Embedded'),
): Promise<EmbeddedServices> {
  const dataDir = resolve(config.dataDir);
  const stateDir = join(dataDir, 'embedded');
  const services: EmbeddedService[] = [];
  const stopAll = async () => {
    for (const s of [...services].reverse()) await s.stop();
  };
  try {
    if (config.redis.state.mode === 'embedded') {
      const binary = config.redis.state.binary;
      const redisDir = join(dataDir, 'redis');
      const redis = await ownOrUse({
        stateDir,
        service: 'redis',
        label: 'redis-server',
        variable: 'REDIS_URL',
        dataDir,
        start: async (preferredPort) => {
          const server = await new RedisServerProcess({
            binary,
            dir: redisDir,
            preferredPort,
          }).start();
          return { url: server.url, port: server.port, stop: () => server.stop() };
        },
      });
      services.push(redis);
      logger.log(
        redis.role === 'owner'
          ? `started embedded redis-server on ${redis.url} (data in ${redisDir}); later processes with this DATA_DIR use it; set REDIS_URL to use your own`
          : `using the embedded redis-server of process ${redis.owner.pid} on ${redis.url} (DATA_DIR ${dataDir})`,
      );
      config = {
        ...config,
        redis: { ...config.redis, state: { mode: 'standalone', url: redis.url } },
      };
    }
    if (config.database.kind === 'pglite' && config.database.dataDir !== null) {
      const pgliteDir = resolve(config.database.dataDir);
      const db = await ownOrUse({
        stateDir,
        service: 'pglite',
        label: 'PGlite database',
        variable: 'DATABASE_URL',
        dataDir,
        start: (preferredPort) => startPgliteServer(pgliteDir, preferredPort),
      });
      services.push(db);
      logger.log(
        db.role === 'owner'
          ? `serving PGlite (data in ${pgliteDir}) on ${db.url} for this and later processes with this DATA_DIR`
          : `using the PGlite database of process ${db.owner.pid} on ${db.url} (DATA_DIR ${dataDir})`,
      );
      // The embedded server runs every client's statements on one PGlite backend, one unit at
      // a time: under a burst the processes' pools queue for it much longer than for a real
      // server, so waiting up to 30 s for a connection beats answering 503 in development.
      config = {
        ...config,
        database: { kind: 'postgres', url: db.url, schema: 'public', connectTimeoutMs: 30_000 },
      };
    }
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }
  return {
    config,
    services,
    beginShutdown: () => services.forEach((s) => s.beginShutdown()),
    stop: stopAll,
  };
}
