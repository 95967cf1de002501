import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/** Called for every request Node's HTTP parser refused before any framework saw it. */
export type ClientErrorObserver = (statusCode: number) => void;

interface ParserError extends Error {
  code?: string;
}

/** What Node's parser error codes mean for the client. */
function statusOf(err: ParserError): { status: number; message: string } {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        status: 408,
        message: 'The request was not received in time; send it again',
      };
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        message: 'Request line and headers are too large (at most 16 KB together)',
      };
    default:
      return {
        status: 400,
        message: `Malformed HTTP request (${(err.code ?? 'parse error').replace(/^HPE_/, '')}): the request line or headers are not valid HTTP/1.1`,
      };
  }
}

/**
 * The `clientError` handler of both platforms' HTTP server (Fastify takes it as its
 * `clientErrorHandler`, Express's server gets it in http-platform.ts): requests Node's parser
 * refuses — a bad request line, headers over the limit, obs-fold, bare LF, both Content-Length
 * and Transfer-Encoding, a request not received within the request timeout — are answered with
 * the same JSON error body as every other error (`{ statusCode, error, message }`), then the
 * connection is closed. Counted through `observer` (set once metrics exist).
 */
export class ClientErrorResponder {
  observer?: ClientErrorObserver;

  readonly handle = (err: ParserError, socket: Duplex): void => {
    // A reset connection has nobody to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const { status, message } = statusOf(err);
    const body = JSON.stringify({ statusCode: status, error: STATUS_CODES[status], message });
    // As Node's own default does: answer only when no response has started on this socket.
    const inFlight = (socket as Duplex & { _httpMessage?: { _headerSent?: boolean } })._httpMessage;
    if (socket.writable && !inFlight?._headerSent) {
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
          'Content-Type: application/json; charset=utf-8\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\n` +
          'Connection: close\r\n\r\n' +
          body,
      );
      this.observer?.(status);
    }
    socket.destroy(err);
  };
}
