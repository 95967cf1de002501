import type { LoggerService } from '@nestjs/common';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

/** What the PGlite thread is given (`workerData`). */
export interface PgliteServerData {
  /** The PostgreSQL data directory (made from the prepared template when empty). */
  dir: string;
  /** Port of the previous run, reused when free. */
  preferredPort?: number;
}

/** Thread → parent. */
export type PgliteServerMessage =
  | { type: 'ready'; url: string; port: number }
  | { type: 'failed'; message: string; stack?: string }
  | { type: 'log'; level: 'warn' | 'error'; message: string }
  | { type: 'stopped' };

/** Parent → thread: stop serving and close PGlite (it flushes to disk); `stopped` follows. */
export interface PgliteServerCommand {
  type: 'stop';
}

/** A PGlite server running in its thread. */
export interface PgliteServer {
  url: string;
  port: number;
  /** Stops serving and closes PGlite (it flushes to disk); the thread then ends. */
  stop(): Promise<void>;
}

/** The thread's entry file, built beside this one (`dist/database/`). */
export const PGLITE_SERVER_WORKER = join(__dirname, 'pglite-server.worker.js');

function failure(m: { message: string; stack?: string }): Error {
  const err = new Error(m.message);
  if (m.stack) err.stack = m.stack;
  return err;
}

/**
 * Starts PGlite on `dir` in a worker thread and serves it over the PostgreSQL wire protocol on
 * loopback (on `preferredPort` when it is free): ./pglite-server.worker.ts.
 *
 * Why a thread: PostgreSQL's start in WASM (making the data directory from the template,
 * instantiating the module, recovery) is about a second of CPU, which now runs beside the main
 * thread loading the app's modules instead of after it; and every query then runs beside the
 * app too. The memory stays in this process: the thread's heap and PGlite's WASM heap count in
 * its RSS as before. Used by the embedded services (src/embedded).
 *
 * The thread's log lines (the wire server's) are relayed to `logger`. Once the server is ready, the thread dying (an
 * uncaught error in it, an exit nobody asked for) is thrown as an uncaught exception here, as it
 * was when PGlite ran on the main thread: the process shuts down (src/bootstrap.ts).
 */
export function startPgliteServer(
  dir: string,
  preferredPort: number | undefined,
  logger: Pick<LoggerService, 'warn' | 'error'>,
  worker: string = PGLITE_SERVER_WORKER,
): Promise<PgliteServer> {
  const data: PgliteServerData = { dir, preferredPort };
  const thread = new Worker(worker, { workerData: data });
  let phase: 'starting' | 'running' | 'stopping' = 'starting';
  let failed: Error | undefined;
  const exited = new Promise<number>((r) => thread.once('exit', r));
  return new Promise<PgliteServer>((resolve, reject) => {
    thread.on('message', (m: PgliteServerMessage) => {
      if (m.type === 'log') logger[m.level](m.message);
      else if (m.type === 'failed') {
        failed ??= failure(m);
        if (phase === 'starting') void thread.terminate();
      } else if (m.type === 'stopped') void thread.terminate();
      else if (m.type === 'ready') {
        phase = 'running';
        let stopped: Promise<void> | undefined;
        resolve({
          url: m.url,
          port: m.port,
          stop: () =>
            (stopped ??= (async () => {
              phase = 'stopping';
              thread.postMessage({ type: 'stop' } satisfies PgliteServerCommand);
              await exited;
              if (failed) throw failed;
            })()),
        });
      }
    });
    thread.on('error', (err) => {
      failed ??= err;
    });
    void exited.then((code) => {
      if (phase === 'starting') {
        reject(failed ?? new Error(`the PGlite thread exited with code ${code} before serving`));
      } else if (phase === 'running') {
        const reason = failed?.stack ?? `exit code ${code}`;
        process.nextTick(() => {
          throw new Error(`the embedded PGlite server stopped unexpectedly: ${reason}`);
        });
      }
    });
  });
}
