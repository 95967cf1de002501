import { HttpException } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Deepest nesting of arrays and objects a body may have (our DTOs need 2). */
export const MAX_BODY_DEPTH = 32;

/** Keys refused anywhere in a body: prototype-pollution vectors that some parsers drop silently. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor']);

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function bad(status: number, message: string): HttpException {
  return new HttpException(
    {
      statusCode: status,
      error: status === 415 ? 'Unsupported Media Type' : 'Bad Request',
      message,
    },
    status,
  );
}

/**
 * The one JSON body contract of both HTTP platforms (Fastify registers it as its content-type
 * parser, Express runs it after reading the raw bytes; see http-platform.ts), so they accept and
 * refuse exactly the same bodies (on every method but GET, HEAD and TRACE, whose body is ignored):
 * - `Content-Type: application/json` (or `application/*+json`), charset absent or UTF-8
 *   (anything else → 415);
 * - no `Content-Encoding` other than `identity` (compressed bodies are not accepted → 415);
 * - valid UTF-8 (a leading BOM is ignored), valid JSON, not empty (→ 400);
 * - at most {@link MAX_BODY_DEPTH} levels of nesting (→ 400, checked iteratively, so a deeply
 *   nested body costs one linear pass and never reaches a recursive validator);
 * - no `__proto__` or `constructor` key at any depth (→ 400).
 * Duplicate keys are accepted; the last one wins (JSON.parse).
 */
export function decodeJsonBody(raw: Buffer, headers: Record<string, unknown>): unknown {
  checkJsonHeaders(headers);
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw bad(400, 'Request body is not valid UTF-8');
  }
  if (text.trim() === '') throw bad(400, 'Request body is empty: send a JSON value');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw bad(400, MALFORMED_JSON);
  }
  checkShape(value);
  return value;
}

export const MALFORMED_JSON =
  'Malformed JSON body: send valid JSON with Content-Type: application/json';

/** Content-Type and Content-Encoding rules of {@link decodeJsonBody}, for a request that has a body. */
export function checkJsonHeaders(headers: Record<string, unknown>): void {
  const rawEncoding = headers['content-encoding'];
  const encoding = (typeof rawEncoding === 'string' ? rawEncoding : '').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') {
    throw bad(
      415,
      `Content-Encoding "${encoding.slice(0, 40)}" is not supported: send the body uncompressed`,
    );
  }
  const type = headers['content-type'];
  if (typeof type !== 'string' || !isJsonType(type)) {
    throw bad(415, 'Unsupported Content-Type: send application/json');
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(type)?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw bad(415, `charset "${charset.slice(0, 40)}" is not supported: send UTF-8 JSON`);
  }
}

export function isJsonType(contentType: string): boolean {
  const essence = contentType.split(';', 1)[0].trim().toLowerCase();
  return essence === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(essence);
}

function checkShape(root: unknown): void {
  const stack: { value: unknown; depth: number }[] = [{ value: root, depth: 1 }];
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_BODY_DEPTH) {
      throw bad(400, `Request body is nested too deeply (at most ${MAX_BODY_DEPTH} levels)`);
    }
    if (Array.isArray(value)) {
      for (const item of value) stack.push({ value: item, depth: depth + 1 });
      continue;
    }
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key))
        throw bad(400, `Request body contains the forbidden key "${key}"`);
      stack.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1 });
    }
  }
}

/**
 * Methods whose body is ignored, never parsed nor refused (Fastify's "bodyless" methods: a GET
 * body has no defined meaning, RFC 9110 §9.3.1).
 */
export const BODYLESS_METHODS = new Set(['GET', 'HEAD', 'TRACE']);

/** Whether a request carries a body (as Node's parser framed it), mirroring Fastify's rule. */
export function hasBody(headers: Record<string, unknown>): boolean {
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

interface BodyRequest extends IncomingMessage {
  body?: unknown;
}

/**
 * Express middleware applying {@link decodeJsonBody} to every request with a body (Fastify runs
 * the same function as its content-type parser). Bodies over `limit` bytes → 413, announced
 * (Content-Length) or streamed. An empty body is no body (`undefined`). The body of a GET,
 * HEAD or TRACE is ignored, as Fastify does ({@link BODYLESS_METHODS}).
 */
export function expressJsonBody(limit: number) {
  return (req: BodyRequest, _res: ServerResponse, next: (err?: unknown) => void): void => {
    if (!hasBody(req.headers) || BODYLESS_METHODS.has(req.method ?? '')) return next();
    try {
      checkJsonHeaders(req.headers);
    } catch (err) {
      return next(err);
    }
    const declared = Number(req.headers['content-length']);
    if (declared > limit) return next(tooLarge(limit));
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      req.off('data', onData).off('end', onEnd).off('error', finish).off('aborted', onAborted);
      if (err) return next(err);
      const raw = Buffer.concat(chunks, size);
      try {
        req.body = raw.length === 0 ? undefined : decodeJsonBody(raw, req.headers);
      } catch (e) {
        return next(e);
      }
      next();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        return finish(tooLarge(limit));
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish();
    // The client went away: nobody to answer, but the request must not hang in the middleware.
    const onAborted = () => finish(bad(400, 'Request body was not completely received'));
    req.on('data', onData).on('end', onEnd).on('error', finish).on('aborted', onAborted);
  };
}

function tooLarge(limit: number): HttpException {
  return new HttpException(
    {
      statusCode: 413,
      error: 'Payload Too Large',
      message: `Request body is too large (limit ${limit} bytes)`,
    },
    413,
  );
}
