import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/**
 * The app's OpenAPI document as a contract the tests hold responses to: fetched from the
 * running app (`/docs/json`), checked by an independent validator (swagger-parser: the OpenAPI
 * 3.0 meta-schema and every `$ref`), dereferenced, and compiled with ajv + ajv-formats.
 */

/* eslint-disable @typescript-eslint/no-explicit-any -- OpenAPI objects are walked generically */
export type Schema = Record<string, any>;

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema: Schema;
}

export interface Operation {
  /** `GET /api/users/{id}` */
  id: string;
  method: string;
  /** The path template, `/api/users/{id}`. */
  path: string;
  summary?: string;
  tags: string[];
  parameters: Parameter[];
  /** Schema of the JSON request body, when the operation takes one. */
  body?: Schema;
  bodyRequired: boolean;
  responses: Record<string, { headers?: Record<string, Schema>; content?: Record<string, any> }>;
  /** Behind the rate limiter: documents 429. */
  rateLimited: boolean;
  /**
   * Its security requirements (alternatives: any one will do): `[{ bearer: [] }, { session: [] }]`;
   * an empty requirement `{}` among them means credentials are optional. Empty: none read.
   */
  security: Record<string, string[]>[];
}

/** A response as the tests saw it; header names lower-case. */
export interface SeenResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

export class ApiContract {
  readonly operations: Operation[];
  private readonly ajv: Ajv;
  private readonly compiled = {
    strict: new WeakMap<object, ValidateFunction>(),
    loose: new WeakMap<object, ValidateFunction>(),
  };

  private constructor(
    /** The document as served (with `$ref`s). */
    readonly raw: Schema,
    /** The same document with every `$ref` resolved. */
    readonly doc: Schema,
  ) {
    this.ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
    addFormats(this.ajv);
    this.operations = [];
    for (const [path, item] of Object.entries<Schema>(doc.paths)) {
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        const json = op.requestBody?.content?.['application/json'];
        this.operations.push({
          id: `${method.toUpperCase()} ${path}`,
          method: method.toUpperCase(),
          path,
          summary: op.summary,
          tags: op.tags ?? [],
          parameters: [...(item.parameters ?? []), ...(op.parameters ?? [])],
          body: json?.schema,
          bodyRequired: Boolean(op.requestBody?.required),
          responses: op.responses,
          rateLimited: '429' in op.responses,
          security: op.security ?? doc.security ?? [],
        });
      }
    }
  }

  /** Fetches, validates and dereferences the document served at `${baseUrl}/docs/json`. */
  static async load(baseUrl: string): Promise<ApiContract> {
    const res = await fetch(`${baseUrl}/docs/json`);
    if (res.status !== 200) throw new Error(`/docs/json answered ${res.status}`);
    const raw = (await res.json()) as Schema;
    // validate() throws with every problem listed when the document is not valid OpenAPI.
    await SwaggerParser.validate(structuredClone(raw) as never);
    const doc = (await SwaggerParser.dereference(structuredClone(raw) as never)) as Schema;
    return new ApiContract(raw, doc);
  }

  operation(id: string): Operation {
    const op = this.operations.find((o) => o.id === id);
    if (!op) throw new Error(`no operation ${id} in the document`);
    return op;
  }

  /** The documented schema of the error body (`ErrorDto`). */
  get errorSchema(): Schema {
    return this.doc.components.schemas.ErrorDto;
  }

  private validator(schema: Schema, strictObjects: boolean): ValidateFunction {
    const cache = strictObjects ? this.compiled.strict : this.compiled.loose;
    let fn = cache.get(schema);
    if (!fn) {
      fn = this.ajv.compile(strictObjects ? closeObjects(schema) : schema);
      cache.set(schema, fn);
    }
    return fn;
  }

  /** Whether `value` validates against `schema`; the ajv error text otherwise. */
  validate(schema: Schema, value: unknown, strictObjects = false): string | undefined {
    const fn = this.validator(schema, strictObjects);
    return fn(value) ? undefined : this.ajv.errorsText(fn.errors, { dataVar: 'body' });
  }

  /**
   * Everything about `res` the document does not allow for `op`: an undocumented status, a
   * body that does not validate against the schema of that status (objects closed: a property
   * the document does not describe is a violation too), a wrong content type, a required
   * header missing, a header value outside its schema. Empty when the response conforms.
   */
  check(op: Operation, res: SeenResponse): string[] {
    const problems: string[] = [];
    const documented = op.responses[String(res.status)];
    if (!documented) {
      return [
        `${op.id}: status ${res.status} is not documented (documented: ${Object.keys(op.responses).join(', ')}); body ${res.text.slice(0, 300)}`,
      ];
    }
    for (const [name, header] of Object.entries(documented.headers ?? {})) {
      const value = res.headers[name.toLowerCase()];
      if (value === undefined) {
        if (header.required) problems.push(`${op.id} ${res.status}: header ${name} is missing`);
        continue;
      }
      const typed =
        header.schema?.type === 'integer' && /^-?\d+$/.test(value) ? Number(value) : value;
      const err = this.validate(header.schema ?? {}, typed);
      if (err) problems.push(`${op.id} ${res.status}: header ${name}: "${value}" ${err}`);
    }
    const json = documented.content?.['application/json'];
    if (!json) {
      if (res.text !== '')
        problems.push(
          `${op.id} ${res.status}: documented without a body, got ${res.text.slice(0, 200)}`,
        );
      return problems;
    }
    if (!/^application\/json\b/.test(res.headers['content-type'] ?? '')) {
      problems.push(
        `${op.id} ${res.status}: content-type ${res.headers['content-type']} is not application/json`,
      );
      return problems;
    }
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch {
      return [...problems, `${op.id} ${res.status}: body is not JSON: ${res.text.slice(0, 200)}`];
    }
    const err = this.validate(json.schema, body, true);
    if (err) problems.push(`${op.id} ${res.status}: ${err}; body ${res.text.slice(0, 300)}`);
    const statusCode = (body as { statusCode?: unknown }).statusCode;
    if (json.schema.properties?.statusCode && statusCode !== res.status) {
      problems.push(`${op.id} ${res.status}: statusCode in the body is ${String(statusCode)}`);
    }
    return problems;
  }
}

/**
 * A copy of `schema` in which every object schema that lists its properties and says nothing
 * about others refuses them, so a response field the document does not describe is caught.
 */
function closeObjects(schema: Schema, seen = new Map<object, Schema>()): Schema {
  if (schema === null || typeof schema !== 'object') return schema;
  if (seen.has(schema)) return seen.get(schema)!;
  const out: Schema = Array.isArray(schema) ? [] : {};
  seen.set(schema, out);
  for (const [k, v] of Object.entries(schema)) {
    out[k] = k === 'example' || k === 'default' ? v : closeObjects(v, seen);
  }
  if (
    !Array.isArray(schema) &&
    schema.type === 'object' &&
    schema.properties &&
    schema.additionalProperties === undefined
  ) {
    out.additionalProperties = false;
  }
  return out;
}

/** Lower-cased header record of a fetch response. */
export function headerRecord(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((v, k) => (out[k] = v));
  return out;
}
