/**
 * The embedded PGlite server's thread, started by `startPgliteServer` (./pglite-server.ts):
 * makes the data directory from the prepared template when it is new, opens PGlite on it and
 * serves it over the PostgreSQL wire protocol on loopback until told to stop. It loads no Nest
 * package: only PGlite, the wire server, the settings and the template.
 *
 * Protocol: `workerData` is a {@link PgliteServerData}; the thread posts `ready` once it serves
 * (or `failed`), `log` for each line the wire server logs, and on `stop` closes the server and
 * PGlite and posts `stopped` (`failed` first if closing failed). The parent then terminates it.
 */
import { PGlite } from '@electric-sql/pglite';
import { parentPort, workerData } from 'node:worker_threads';
import { pgliteOptions } from './pglite-settings';
import { prepareDataDir } from './pglite-template';
import { PgliteWireServer, type WireServerLogger } from './pglite-wire-server';
import type { PgliteServerCommand, PgliteServerData, PgliteServerMessage } from './pglite-server';

const parent = parentPort!;
const { dir, preferredPort } = workerData as PgliteServerData;

const post = (m: PgliteServerMessage) => parent.postMessage(m);
const failed = (err: unknown) => {
  const e = err instanceof Error ? err : new Error(String(err));
  post({ type: 'failed', message: e.message, stack: e.stack });
};
const logger: WireServerLogger = {
  warn: (message: unknown) => post({ type: 'log', level: 'warn', message: String(message) }),
  error: (message: unknown) => post({ type: 'log', level: 'error', message: String(message) }),
};

async function serve(): Promise<{ db: PGlite; server: PgliteWireServer }> {
  await prepareDataDir(dir); // a new cluster from the prepared template, not initdb in process
  const db = await PGlite.create(dir, pgliteOptions());
  try {
    try {
      return {
        db,
        server: await new PgliteWireServer(db, { port: preferredPort ?? 0, logger }).start(),
      };
    } catch (err) {
      if (!preferredPort || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      return { db, server: await new PgliteWireServer(db, { logger }).start() };
    }
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}

serve().then(
  ({ db, server }) => {
    parent.on('message', (m: PgliteServerCommand) => {
      if (m.type !== 'stop') return;
      parent.removeAllListeners('message');
      server
        .stop()
        .then(() => db.close()) // flushes to disk
        .catch(failed)
        .finally(() => post({ type: 'stopped' }));
    });
    post({ type: 'ready', url: server.url, port: server.port });
  },
  (err: unknown) => failed(err),
);
