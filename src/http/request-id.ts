import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

const SAFE_ID = /^[A-Za-z0-9._-]{1,128}$/;
export const REQUEST_ID_HEADER = 'X-Request-Id';

/** Reuses a sane incoming `X-Request-Id` (set by a proxy or the caller), else makes a UUID. */
export function requestIdFrom(headers: IncomingHttpHeaders): string {
  const incoming = headers['x-request-id'];
  return typeof incoming === 'string' && SAFE_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * Express middleware: the request id as Fastify assigns it (`genReqId` in http-platform.ts),
 * on `req.id` for the logs and echoed in the response.
 */
export function expressRequestId(
  req: IncomingMessage & { id?: string },
  res: ServerResponse,
  next: () => void,
): void {
  req.id ??= requestIdFrom(req.headers); // RequestLogger may have assigned it
  res.setHeader(REQUEST_ID_HEADER, req.id);
  next();
}
