import { PinoLogger } from 'nestjs-pino';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AsyncLocalStorage } from 'node:async_hooks';
import { dirname, join } from 'node:path';
import type { Logger as Pino } from 'pino';
import { redisCostOf } from '../metrics';
import { isQuietPath } from './log-redaction';
import { requestIdFrom } from './request-id';

/** What nestjs-pino's `Logger` reads from its AsyncLocalStorage: the logger of the current request. */
interface LogStore {
  logger: Pino;
  responseLogger?: Pino;
}

/**
 * nestjs-pino's own store: its `Logger` writes each line through `storage.getStore()?.logger`,
 * falling back to the root logger. The package exports no path to it (its `exports` map has
 * only the index), so it is loaded from the file next to the index, which is the module
 * instance the index itself uses. Checked at load: a nestjs-pino that moves it fails the start,
 * not the request-id lines (and test/foundation/logs.e2e-spec.ts checks those lines).
 */
function nestjsPinoStorage(): AsyncLocalStorage<LogStore> {
  const file = join(dirname(require.resolve('nestjs-pino')), 'storage.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(file) as { storage?: AsyncLocalStorage<LogStore> };
  if (!mod.storage || typeof mod.storage.enterWith !== 'function')
    throw new Error(
      `nestjs-pino's request store was not found in ${file}: pin nestjs-pino to 5.x or update src/http/request-logger.ts`,
    );
  return mod.storage;
}

const storage = nestjsPinoStorage();

type LoggedRequest = IncomingMessage & { id?: string; originalUrl?: string };

/**
 * The request's logger for nestjs-pino's `Logger`: a child of the root with `reqId`, made on the
 * first line the app writes during the request (most requests write none).
 */
class RequestLogStore implements LogStore {
  private child?: Pino;

  constructor(
    private readonly root: Pino,
    private readonly req: LoggedRequest,
  ) {}

  get logger(): Pino {
    return (this.child ??= this.root.child({ reqId: this.req.id }));
  }

  /** `PinoLogger.assign()` replaces the logger with a child carrying more fields. */
  set logger(logger: Pino) {
    this.child = logger;
  }
}

/**
 * The per-request log line (`request completed`, or `request errored` for a 5xx, as pino-http
 * wrote them, and `request aborted` when the connection closed first): one line written when the
 * response finishes, and the request id on every line the app writes while the request runs.
 *
 * It replaces nestjs-pino's middleware (pino-http), which made two child loggers per request,
 * one of them serializing the whole request at its start, and ran through the framework's
 * middleware layer. This is one `request` listener on the Node server, ahead of Fastify's or
 * Express's, that:
 * - assigns the request id (a sane incoming `X-Request-Id`, else a UUID) that both platforms
 *   then use and echo, so the log line, the app's lines and the response carry the same one;
 * - enters nestjs-pino's AsyncLocalStorage store for the request with a {@link RequestLogStore}
 *   (`enterWith` on the request's own async resource, so body callbacks find it too);
 * - writes the line through the root logger, whose serializers (pino-http's standard ones and
 *   ours in log-redaction.ts) redact credentials as before.
 *
 * Probes and scrapes ({@link isQuietPath}) get an id and a store but no line.
 *
 * On Node 20 an AsyncLocalStorage store makes every promise of the process run promise hooks
 * (bench/results/stack-profile.md: 6-7 % of a cached request's CPU); `LOG_REQUEST_CONTEXT=false`
 * keeps the line and drops the store.
 */
export class RequestLogger {
  /**
   * @param context whether to enter the store that puts `reqId` on the app's own lines
   * (`LOG_REQUEST_CONTEXT`); without it the request line is still written, with its id.
   */
  constructor(
    private readonly root: Pino,
    private readonly context = true,
  ) {}

  /** On the root logger nestjs-pino built (set once its `Logger` has been resolved). */
  static fromNestjsPino(options: { context?: boolean } = {}): RequestLogger {
    const root = PinoLogger.root as Pino | undefined;
    if (!root) throw new Error('RequestLogger: resolve nestjs-pino’s Logger before attaching');
    return new RequestLogger(root, options.context);
  }

  attach(server: Server): void {
    server.prependListener('request', (req: LoggedRequest, res: ServerResponse) =>
      this.onRequest(req, res),
    );
  }

  private onRequest(req: LoggedRequest, res: ServerResponse): void {
    req.id ??= requestIdFrom(req.headers);
    // The URL as the client sent it: routers rewrite req.url on the way (Express strips mount
    // paths, @fastify/middie too); Express keeps an existing originalUrl.
    req.originalUrl ??= req.url;
    if (this.context) storage.enterWith(new RequestLogStore(this.root, req));
    if (isQuietPath(req)) return;
    const start = Date.now();
    const done = (): void => {
      res.removeListener('finish', done);
      res.removeListener('close', done);
      this.write(req, res, Date.now() - start);
    };
    res.on('finish', done);
    // A client that goes away before the response ends: logged when the socket closes.
    res.on('close', done);
  }

  private write(req: LoggedRequest, res: ServerResponse, responseTime: number): void {
    const redis = redisCostOf(req);
    const line: Record<string, unknown> = { req, res, responseTime };
    if (redis) line.redis = redis;
    if (!res.writableFinished) {
      // The connection closed before the response was sent: its status was never sent either.
      this.root.info(line, 'request aborted');
    } else if (res.statusCode >= 500) {
      line.err = new Error(`failed with status code ${res.statusCode}`);
      this.root.info(line, 'request errored');
    } else {
      this.root.info(line, 'request completed');
    }
  }
}
