import type { PGlite } from '@electric-sql/pglite';
import type { LoggerService } from '@nestjs/common';
import { createServer, Server, Socket } from 'node:net';

// Untyped first messages (int32 length, int32 code) and the typed ones we act on.
const PROTOCOL_3_0 = 196608;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const MAX_STARTUP_BYTES = 10_000;
/** PGlite's own ceiling for one protocol exchange. */
const MAX_MESSAGE_BYTES = 2 ** 30;
const TERMINATE = 0x58; // 'X'
const READY_FOR_QUERY = 0x5a; // 'Z'

/** CopyFail (ignored outside COPY) + Sync: ends whatever unit a vanished client left open. */
const RESET_UNIT = Buffer.concat([
  message('f', Buffer.from('client disconnected\0')),
  message('S', Buffer.alloc(0)),
]);
const ROLLBACK = message('Q', Buffer.from('ROLLBACK\0'));

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/** FIFO mutex: who owns the single PGlite backend. */
class BackendMutex {
  private tail: Promise<void> = Promise.resolve();

  acquire(): Promise<() => void> {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const previous = this.tail;
    this.tail = previous.then(() => released);
    return previous.then(() => release);
  }
}

/**
 * Follows the backend's reply stream (type byte, int32 length, body) across chunks and keeps
 * the last message's type and, for ReadyForQuery, its transaction status.
 */
export class BackendStatusTracker {
  private readonly header = Buffer.alloc(5);
  private headerBytes = 0;
  private remaining = 0;
  private lastType = READY_FOR_QUERY;
  private status = 'I';

  feed(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - i);
        if (this.lastType === READY_FOR_QUERY) this.status = String.fromCharCode(chunk[i + n - 1]);
        i += n;
        this.remaining -= n;
        continue;
      }
      this.header[this.headerBytes++] = chunk[i++];
      if (this.headerBytes === 5) {
        this.headerBytes = 0;
        this.lastType = this.header[0];
        this.remaining = this.header.readInt32BE(1) - 4;
        if (this.lastType === READY_FOR_QUERY) this.status = '';
      }
    }
  }

  /**
   * True when the backend's last word was ReadyForQuery with status idle ('I'): the client's
   * unit (up to a Sync or a simple Query) is over and no transaction is open. 'T' (in a
   * transaction), 'E' (failed transaction) or any other last message means it is not.
   */
  get idle(): boolean {
    return (
      this.lastType === READY_FOR_QUERY &&
      this.status === 'I' &&
      this.remaining === 0 &&
      this.headerBytes === 0
    );
  }
}

/** Where the server reports clients it had to drop. */
export type WireServerLogger = Pick<LoggerService, 'warn' | 'error'>;

export interface PgliteWireServerOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /**
   * Given by the caller (a Nest `Logger`, or the embedded server thread's relay to the main
   * thread's logger), so that this file loads no Nest package: it runs in a worker thread.
   */
  logger: WireServerLogger;
}

/**
 * Serves one PGlite instance over the PostgreSQL wire protocol on loopback, so several local
 * processes (the API, the worker, a second API) share one embedded database through ordinary
 * `pg` clients, and the process that opened PGlite is the only one touching its files.
 *
 * PGlite is a single backend with a single session. Correctness rule: one client at a time
 * owns the backend for a whole unit — its messages up to and including a Sync or a simple
 * Query, i.e. until the backend answers ReadyForQuery — and if that ReadyForQuery reports a
 * transaction ('T') or a failed one ('E'), the client keeps the backend until a unit ends idle.
 * Other clients' messages wait meanwhile, so the unnamed statement and portal of the extended
 * protocol (Parse/Bind/Describe/Execute/Sync) and open transactions are never shared. (A
 * per-message multiplexer, such as `@electric-sql/pglite-socket` 0.2.17, interleaves two clients'
 * extended-protocol messages and they clobber each other's unnamed statement.) A client that
 * disconnects while owning the backend has its unit ended and its transaction rolled back.
 * Terminate ('X') closes the client's socket; it is never forwarded (it would end the backend).
 *
 * Limits, fine for development: the session is shared, so `SET` and named prepared statements
 * are visible to every client; a client holding a transaction blocks the others until it ends;
 * CancelRequest is ignored.
 */
export class PgliteWireServer {
  private readonly backend = new BackendMutex();
  private readonly connections = new Set<WireConnection>();
  private server?: Server;
  port = 0;

  constructor(
    readonly db: PGlite,
    private readonly options: PgliteWireServerOptions,
  ) {}

  /** A URL for `pg` / `PostgresDatabase`. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  async start(): Promise<this> {
    await this.db.waitReady;
    const server = createServer((socket) => {
      const conn = new WireConnection(socket, this.db, this.backend, this.options.logger);
      this.connections.add(conn);
      void conn.closed.then(() => this.connections.delete(conn));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    this.server = server;
    return this;
  }

  /** Stops listening, closes every client (rolling back what it left open) and waits for them. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closedServer = server
      ? new Promise<void>((r) => server.close(() => r()))
      : Promise.resolve();
    await Promise.all([...this.connections].map((c) => c.close()));
    await closedServer;
  }
}

/** One client socket: frames its messages and runs them on the backend when it owns it. */
class WireConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private started = false;
  private ending = false;
  private queue: Promise<void> = Promise.resolve();
  private release?: () => void;
  private readonly tracker = new BackendStatusTracker();
  readonly closed: Promise<void>;

  constructor(
    private readonly socket: Socket,
    private readonly db: PGlite,
    private readonly backend: BackendMutex,
    private readonly logger: WireServerLogger,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.schedule(() => this.drain());
    });
    socket.on('error', () => socket.destroy());
    this.closed = new Promise<void>((resolve) =>
      socket.once('close', () => {
        this.ending = true;
        this.schedule(() => this.cleanUp());
        void this.queue.then(resolve);
      }),
    );
  }

  /** Closes the socket; resolves once the backend is released. */
  close(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }

  private schedule(step: () => Promise<void>): void {
    this.queue = this.queue.then(step).catch((err: Error) => {
      this.logger.error(`client connection failed: ${err.message}`);
      this.socket.destroy();
    });
  }

  /** Runs every complete message in the buffer: the startup exchange alone, then typed messages as one batch. */
  private async drain(): Promise<void> {
    const batch: Buffer[] = [];
    while (!this.ending) {
      if (!this.started) {
        if (this.buffer.length < 8) break;
        const length = this.buffer.readInt32BE(0);
        const code = this.buffer.readInt32BE(4);
        if (length < 8 || length > MAX_STARTUP_BYTES) return this.protocolError();
        if (this.buffer.length < length) break;
        const msg = this.take(length);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          this.socket.write('N'); // no encryption on loopback; the client goes on in plain text
        } else if (code === CANCEL_REQUEST) {
          this.socket.destroy(); // one backend, nothing to signal
          return;
        } else if (code === PROTOCOL_3_0) {
          await this.run(msg);
          this.started = true;
        } else {
          return this.protocolError();
        }
        continue;
      }
      if (this.buffer.length < 5) break;
      const length = this.buffer.readInt32BE(1);
      if (length < 4 || length > MAX_MESSAGE_BYTES) return this.protocolError();
      if (this.buffer.length < length + 1) break;
      const msg = this.take(length + 1);
      if (msg[0] === TERMINATE) {
        this.ending = true;
        break;
      }
      batch.push(msg);
    }
    if (batch.length > 0) await this.run(batch.length === 1 ? batch[0] : Buffer.concat(batch));
    if (this.ending) this.socket.end();
  }

  private take(n: number): Buffer {
    const msg = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return msg;
  }

  private protocolError(): void {
    this.logger.warn('closing a client that sent a malformed message');
    this.socket.destroy();
  }

  /** Runs messages on the backend, owning it first; gives it up when the unit ended idle. */
  private async run(msg: Uint8Array, reply = true): Promise<void> {
    this.release ??= await this.backend.acquire();
    await this.db.runExclusive(() =>
      this.db.execProtocolRawStream(msg, {
        onRawData: (data) => {
          this.tracker.feed(data);
          // PGlite reuses its buffer: copy before handing it to the socket.
          if (reply && !this.socket.destroyed) this.socket.write(Buffer.from(data));
        },
      }),
    );
    if (this.tracker.idle) {
      this.release();
      this.release = undefined;
    }
  }

  private owning(): boolean {
    return this.release !== undefined;
  }

  /** The client is gone: end the unit it left open, roll back its transaction, free the backend. */
  private async cleanUp(): Promise<void> {
    if (!this.owning()) return;
    try {
      if (!this.tracker.idle) await this.run(RESET_UNIT, false);
      // Still owning after the unit ended: a transaction is open (or failed). Roll it back.
      if (this.owning()) await this.run(ROLLBACK, false);
    } finally {
      this.release?.();
      this.release = undefined;
    }
  }
}
