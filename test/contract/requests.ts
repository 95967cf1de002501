import type { INestApplication } from '@nestjs/common';
import { QueueService } from '../../src/queue';
import { eventually } from '../support/app';
import { Credentials, Scheme, SEED_PASSWORD } from '../support/credentials';
import type { Operation, Parameter, Schema } from '../support/openapi';

/**
 * Requests built from the OpenAPI document: one valid request per operation (from the
 * documented examples, which name the seeded users and pages 1-3) and the values that break
 * each documented constraint.
 */

export interface RequestSpec {
  method: string;
  /** Path and query, encoded as sent. */
  target: string;
  headers: Record<string, string>;
  /** Raw body bytes (already serialised). */
  body?: string | Buffer;
}

/** A value that satisfies `schema`: its example, default, or one built from the constraints. */
export function exampleOf(schema: Schema): unknown {
  if (schema.example !== undefined) return schema.example;
  if (schema.default !== undefined) return schema.default;
  if (schema.enum) return schema.enum[0];
  if (schema.oneOf) return exampleOf(schema.oneOf[0]);
  switch (schema.type) {
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return true;
    case 'array':
      return [exampleOf(schema.items ?? {})];
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries<Schema>(schema.properties ?? {})) out[k] = exampleOf(v);
      return out;
    }
    default:
      if (schema.format === 'email') return 'someone@example.com';
      if (schema.format === 'date') return '2024-02-29';
      if (schema.pattern) throw new Error(`no example for pattern ${schema.pattern}: add one`);
      return 'x'.repeat(Math.max(1, schema.minLength ?? 1));
  }
}

/** The URL target of `op` with these path values (encoded here) and query pairs (already encoded). */
export function target(
  op: Operation,
  path: Record<string, string>,
  query: [string, string][] = [],
): string {
  const p = op.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    if (path[name] === undefined) throw new Error(`${op.id}: no value for {${name}}`);
    return encodeURIComponent(path[name]);
  });
  return query.length ? `${p}?${query.map(([k, v]) => `${k}=${v}`).join('&')}` : p;
}

export function pathParams(op: Operation): Parameter[] {
  return op.parameters.filter((p) => p.in === 'path');
}

export function queryParams(op: Operation): Parameter[] {
  return op.parameters.filter((p) => p.in === 'query');
}

/** Example values of every path parameter of `op`. */
export function examplePath(op: Operation): Record<string, string> {
  return Object.fromEntries(pathParams(op).map((p) => [p.name, String(exampleOf(p.schema))]));
}

/** Example query pairs (every documented query parameter, encoded). */
export function exampleQuery(op: Operation): [string, string][] {
  return queryParams(op).map((p) => [p.name, encodeURIComponent(String(exampleOf(p.schema)))]);
}

/** Example values of the header parameters (`X-Visitor-Id`, `X-Request-Id`). */
export function exampleHeaders(op: Operation): Record<string, string> {
  return Object.fromEntries(
    op.parameters
      .filter((p) => p.in === 'header')
      .map((p) => [p.name, String(exampleOf(p.schema))]),
  );
}

export function exampleBody(op: Operation): Record<string, unknown> | undefined {
  return op.body ? (exampleOf(op.body) as Record<string, unknown>) : undefined;
}

export function jsonRequest(
  op: Operation,
  o: {
    path?: Record<string, string>;
    query?: [string, string][];
    headers?: Record<string, string>;
    body?: unknown;
  } = {},
): RequestSpec {
  const headers = { ...exampleHeaders(op), ...o.headers };
  const body = 'body' in o ? o.body : exampleBody(op);
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  return {
    method: op.method,
    target: target(op, { ...examplePath(op), ...o.path }, o.query ?? exampleQuery(op)),
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  };
}

/** A documented value that breaks `schema`, with what it breaks. Values are JSON values. */
export interface Violation {
  what: string;
  value: unknown;
}

/**
 * Values that break one documented constraint of `schema` each (type, bounds, length,
 * pattern, format). `asText`: the value travels as text (path or query), so type violations
 * are texts that do not parse as the type.
 */
export function violations(schema: Schema, asText: boolean): Violation[] {
  const out: Violation[] = [];
  const type = schema.type as string | undefined;
  if (type === 'integer' || type === 'number') {
    if (asText) out.push({ what: 'not a number', value: 'abc' });
    else {
      out.push({ what: 'a string', value: String(exampleOf(schema)) });
      out.push({ what: 'null', value: null });
      out.push({ what: 'a boolean', value: true });
      out.push({ what: 'an array', value: [exampleOf(schema)] });
    }
    if (type === 'integer') out.push({ what: 'a fraction', value: asText ? '1.5' : 1.5 });
    if (schema.minimum !== undefined) {
      const v = schema.minimum - (type === 'integer' ? 1 : Math.max(1, Math.abs(schema.minimum)));
      out.push({ what: `below minimum ${schema.minimum}`, value: asText ? String(v) : v });
    }
    if (schema.maximum !== undefined) {
      const v = schema.maximum + (type === 'integer' ? 1 : Math.max(1, Math.abs(schema.maximum)));
      out.push({ what: `above maximum ${schema.maximum}`, value: asText ? String(v) : v });
    }
  }
  if (type === 'string') {
    if (!asText) {
      out.push({ what: 'a number', value: 1 });
      out.push({ what: 'null', value: null });
      out.push({ what: 'an object', value: { a: 1 } });
    }
    if (schema.pattern || schema.format === 'email')
      out.push({ what: 'off the pattern', value: '!' });
    if (schema.format === 'date') {
      out.push({ what: 'a day that does not exist', value: '2024-02-30' });
      out.push({ what: 'not a date', value: 'tomorrow' });
    }
    // An empty path segment is another route, not a bad value.
    if ((schema.minLength ?? 0) > 0 && !asText) out.push({ what: 'empty', value: '' });
    if (schema.maxLength !== undefined)
      out.push({
        what: `longer than ${schema.maxLength}`,
        value: 'x'.repeat(schema.maxLength + 1),
      });
  }
  return out;
}

/**
 * What the document says about credentials for `op`: the schemes of its security requirements,
 * and whether it needs one (`required`) or also takes none (an empty requirement `{}`).
 */
export function securityOf(op: Operation): { schemes: Scheme[]; required: boolean } {
  const schemes = [...new Set(op.security.flatMap((r) => Object.keys(r)))] as Scheme[];
  const required = op.security.length > 0 && op.security.every((r) => Object.keys(r).length > 0);
  return { schemes, required };
}

/**
 * Whether a request to `op` may use up the credentials it carries (a logout, a revocation):
 * every operation but a GET. Such a request is sent with a fresh login of its own, so no case
 * logs out the credentials of the next.
 */
export function consumesCredentials(op: Operation): boolean {
  return op.method !== 'GET';
}

/** Whether `op` needs a role (its document entry answers 403): such requests are sent as the admin. */
export function needsRole(op: Operation): boolean {
  return op.responses['403'] !== undefined;
}

/**
 * Valid input that is live state rather than a documented example: the seeded credentials to
 * log in with, a refresh token issued and not yet used, a session that exists, a job the user
 * queued, a failed job to retry. Empty for every other operation.
 */
export async function liveInput(
  op: Operation,
  credentials: Credentials,
): Promise<{ path?: Record<string, string>; body?: unknown }> {
  switch (op.id) {
    case 'POST /api/login':
    case 'POST /api/auth/token':
      return { body: { email: credentials.users.shared, password: SEED_PASSWORD } };
    case 'POST /api/auth/refresh':
      return { body: { refreshToken: await credentials.freshRefreshToken() } };
    case 'DELETE /api/me/sessions/{id}':
      return { path: { id: await credentials.freshSessionId() } };
    case 'GET /api/jobs/{queue}/{id}':
      return { path: { queue: 'report', id: await credentials.ownJobId() } };
    case 'POST /api/admin/queues/{queue}/jobs/{id}/retry': {
      if (!credentials.failedJob) return {};
      const { queue, id } = await credentials.failedJob();
      return { path: { queue, id } };
    }
    default:
      return {};
  }
}

/**
 * A dead letter to retry: a notification job without its message, which the notification
 * processor refuses with an UnrecoverableError.
 */
export async function deadLetter(app: INestApplication): Promise<{ queue: string; id: string }> {
  const queues = app.get(QueueService);
  const { jobId } = await queues.add('notification', 'contract', {});
  const job = await eventually(
    () => queues.get('notification', jobId),
    (j) => j?.state === 'failed',
  );
  if (job?.state !== 'failed') throw new Error(`notification job ${jobId} did not fail`);
  return { queue: 'notification', id: jobId };
}
