import { applyDecorators, INestApplication, Type } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCookieAuth,
  ApiOperation,
  ApiParam,
  ApiProperty,
  ApiPropertyOptions,
  ApiResponse,
  DocumentBuilder,
  SwaggerModule,
} from '@nestjs/swagger';
import type {
  HeaderObject,
  HeadersObject,
  OpenAPIObject,
  ParameterObject,
  ReferenceObject,
  SchemaObject,
} from '@nestjs/swagger';
import { ErrorDto } from './error.dto';
import { MAX_ID } from './parse-id.pipe';
import { REQUEST_ID_HEADER } from './request-id';

/**
 * OpenAPI building blocks shared by every controller, so the document says what the app does:
 * one error schema ({@link ErrorDto}) on every error status, the headers every response carries,
 * and the statuses that come from the platform rather than the handler (body parsing, rate
 * limiting). The contract and fuzz suites (test/contract) hold the app to this document.
 */

/** Schema of a database id: what `ParseIdPipe` and `IsId` accept. */
export const ID_SCHEMA: SchemaObject = {
  type: 'integer',
  format: 'int32',
  minimum: 1,
  maximum: MAX_ID,
};

/** A path parameter that is a database id (`ParseIdPipe`). */
export const ApiIdParam = (name: string, description: string, example = 1): MethodDecorator =>
  ApiParam({ name, description, schema: { ...ID_SCHEMA, example } });

/** A body field that is a database id (`IsId`). */
export const ApiIdProperty = (o: ApiPropertyOptions = {}): PropertyDecorator =>
  ApiProperty({ ...ID_SCHEMA, ...o } as ApiPropertyOptions);

/**
 * A Bearer challenge as RFC 6750 §3 allows it: the realm, then optionally an error code and a
 * description (a quoted string without `"` or a backslash).
 */
const WWW_AUTHENTICATE_PATTERN =
  '^Bearer realm="api"(, error="(invalid_request|invalid_token|insufficient_scope)"(, error_description="[ !#-\\[\\]-~]*")?)?$';

/**
 * Response headers, defined once under `components.headers` (OpenAPI 3.0: a header is described
 * by a schema) and referenced from every response.
 */
const HEADERS = {
  RequestId: {
    description:
      'The request id: the caller’s `X-Request-Id` when it is 1-128 characters of `A-Z a-z 0-9 . _ -`, else a new UUID. Also in the logs.',
    required: true,
    schema: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,128}$' },
  },
  RateLimitPolicy: {
    description:
      'The quota of this route for the client (IETF draft-ietf-httpapi-ratelimit-headers): `"<policy>";q=<requests>;w=<window in s>`. ' +
      'Absent while Redis is unavailable (rate limiting fails open).',
    required: false,
    schema: { type: 'string', pattern: '^"[^"]+";q=\\d+;w=\\d+$', example: '"default";q=100;w=60' },
  },
  RateLimit: {
    description:
      'What is left of the quota: `"<policy>";r=<remaining>;t=<seconds until the window resets>`. ' +
      'Absent while Redis is unavailable (rate limiting fails open).',
    required: false,
    schema: { type: 'string', pattern: '^"[^"]+";r=\\d+;t=\\d+$', example: '"default";r=42;t=17' },
  },
  WwwAuthenticate: {
    description:
      'How to authenticate (RFC 6750 §3): `Bearer realm="api"`, with `error="invalid_token"` (and an `error_description`) when the token sent was refused, `error="invalid_request"` when the Authorization header is not `Bearer <token>`',
    required: true,
    schema: { type: 'string', pattern: WWW_AUTHENTICATE_PATTERN, example: 'Bearer realm="api"' },
  },
  RetryAfter: {
    description: 'Seconds until a request to this route can succeed',
    required: true,
    schema: { type: 'integer', minimum: 1, example: 17 },
  },
  XCache: {
    description:
      'How the cache answered: `HIT` (from the cache), `MISS` (loaded now), `STALE` (a stale value, refreshed in the background)',
    required: true,
    schema: { type: 'string', enum: ['HIT', 'MISS', 'STALE'] },
  },
} satisfies Record<string, HeaderObject>;

const ref = (name: keyof typeof HEADERS): ReferenceObject => ({
  $ref: `#/components/headers/${name}`,
});

/** References to the shared response headers, for responses documented outside {@link ApiStandardResponses}. */
export const RESPONSE_HEADERS = {
  requestId: ref('RequestId'),
  cache: ref('XCache'),
};

/** Error statuses an operation answers from its own logic (the rest are added by {@link ApiStandardResponses}). */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 422 | 429 | 503;

export interface StandardResponsesOptions {
  summary: string;
  description?: string;
  /** The success response; `type` omitted for 204. */
  success: {
    status: 200 | 201 | 202 | 204;
    description: string;
    type?: Type<unknown> | [Type<unknown>];
    /** Extra headers of the success response (`X-Cache`). */
    headers?: HeadersObject;
  };
  /** The errors the operation answers, each with what it means here. */
  errors?: Partial<Record<ErrorStatus, string>>;
  /**
   * The operation takes a JSON body (the one body contract, src/http/json-body.ts): adds 400 for
   * a body that is not a valid JSON object, 413 and 415. `'unused'`: a POST or DELETE that
   * reads no body; one sent anyway must still pass the contract (400 malformed, 413, 415).
   * GET bodies are ignored on both platforms.
   */
  jsonBody?: boolean | 'unused';
  /** Behind the global rate limit (every route but health and metrics). Default true. */
  rateLimited?: boolean;
  /**
   * The route needs a logged-in user (`@Authenticated()`): a session cookie or a Bearer access
   * token (security schemes `session` and `bearer`). Adds 401 with `WWW-Authenticate`, 400 for a
   * malformed Authorization header (`invalid_request`), 503 (the credential cannot be checked
   * while Redis is unavailable) and, with `roles`, 403.
   */
  auth?: { roles?: string[] };
}

const ON_429 = 'As on every response of this route; always present on a 429';

const UNUSED_BODY_400 =
  'The operation reads no body, but one was sent and it is not JSON: not UTF-8, malformed, nested deeper than 32 levels, or with a `__proto__`/`constructor` key.';

const AUTH_400 =
  'The Authorization header is not `Bearer <access token>` (another scheme, empty, or not token characters): `WWW-Authenticate` with `error="invalid_request"` (RFC 6750)';

const BODY_400 =
  'The body is missing, empty, not UTF-8, not JSON, not a JSON object, nested deeper than 32 levels or has a `__proto__`/`constructor` key; or a field is missing, unknown or invalid (`message` then has one sentence per field).';

/**
 * Every response an operation answers, with one call: its summary, the success response, the
 * errors it raises (all with the {@link ErrorDto} body), and the statuses and headers the
 * platform adds: `X-Request-Id` on every response; `RateLimit-Policy` and `RateLimit` on
 * rate-limited routes and 429 with `Retry-After`; 400/413/415 for a JSON body.
 *
 * @example
 * @Get(':id')
 * @ApiIdParam('id', 'user id')
 * @ApiStandardResponses({
 *   summary: 'Get a user',
 *   success: { status: 200, description: 'The user', type: UserDto },
 *   errors: { 400: 'id is not an integer from 1 to 2147483647', 404: 'No such user' },
 * })
 * get(@Param('id', ParseIdPipe) id: number) { … }
 */
export function ApiStandardResponses(o: StandardResponsesOptions): MethodDecorator {
  const rateLimited = o.rateLimited ?? true;
  const headers = (opts: { rateLimit: 'required' | 'optional' | 'none' }): HeadersObject => ({
    [REQUEST_ID_HEADER]: RESPONSE_HEADERS.requestId,
    ...(rateLimited && opts.rateLimit === 'optional'
      ? { 'RateLimit-Policy': ref('RateLimitPolicy'), RateLimit: ref('RateLimit') }
      : {}),
    // A 429 always carries them (the limiter answered); a `$ref` cannot override `required`.
    ...(rateLimited && opts.rateLimit === 'required'
      ? {
          'RateLimit-Policy': { ...HEADERS.RateLimitPolicy, description: ON_429, required: true },
          RateLimit: { ...HEADERS.RateLimit, description: ON_429, required: true },
        }
      : {}),
  });
  const error = (status: number, description: string, extra: HeadersObject = {}) =>
    ApiResponse({
      status,
      description,
      type: ErrorDto,
      headers: {
        // Body parsing (413, 415) happens before the rate limiter, so those never carry its headers.
        ...headers({ rateLimit: status === 413 || status === 415 ? 'none' : 'optional' }),
        ...extra,
      },
    });

  const decorators: MethodDecorator[] = [
    ApiOperation({ summary: o.summary, description: o.description }),
    ApiResponse({
      status: o.success.status,
      description: o.success.description,
      ...(o.success.type
        ? Array.isArray(o.success.type)
          ? { type: o.success.type[0], isArray: true }
          : { type: o.success.type }
        : {}),
      headers: { ...headers({ rateLimit: 'optional' }), ...o.success.headers },
    }),
  ];
  const errors: Partial<Record<number, string>> = { ...o.errors };
  const errorHeaders: Partial<Record<number, HeadersObject>> = {};
  if (o.auth) {
    decorators.push(ApiBearerAuth('bearer'), ApiCookieAuth('session'));
    decorators.push(
      error(
        401,
        errors[401] ??
          'No credentials, or a session or access token that is invalid, expired or revoked; `WWW-Authenticate` says which (RFC 6750)',
        { 'WWW-Authenticate': ref('WwwAuthenticate') },
      ),
    );
    delete errors[401];
    // The guard refuses a malformed Authorization header before any pipe reads the request.
    errors[400] = errors[400] ? `${errors[400]}. ${AUTH_400}` : AUTH_400;
    errorHeaders[400] = {
      'WWW-Authenticate': {
        ...HEADERS.WwwAuthenticate,
        description: 'On a malformed Authorization header: `error="invalid_request"`',
        required: false,
      },
    };
    errors[503] ??= 'Redis is unavailable, so the credential cannot be checked (fail closed)';
    if (o.auth.roles?.length) {
      errors[403] ??= `The user lacks the role ${o.auth.roles.join(' or ')}`;
      errorHeaders[403] = {
        'WWW-Authenticate': {
          ...HEADERS.WwwAuthenticate,
          description: 'When the request used a Bearer token: `error="insufficient_scope"`',
          required: false,
        },
      };
    }
  }
  if (o.jsonBody) {
    const bad = o.jsonBody === 'unused' ? UNUSED_BODY_400 : BODY_400;
    errors[400] = errors[400] ? `${errors[400]}. ${bad}` : bad;
    errors[413] = 'The body is larger than `HTTP_BODY_LIMIT` (100 KB by default)';
    errors[415] =
      '`Content-Type` is not `application/json` (or `application/*+json`), its charset is not UTF-8, or the body has a `Content-Encoding`';
  }
  for (const [status, description] of Object.entries(errors)) {
    decorators.push(error(Number(status), description!, errorHeaders[Number(status)]));
  }
  if (rateLimited) {
    decorators.push(
      ApiResponse({
        status: 429,
        description:
          'The client used up this route’s quota (`RATE_LIMIT`, per client and route); `Retry-After` says when to retry',
        type: ErrorDto,
        headers: {
          ...headers({ rateLimit: 'required' }),
          'Retry-After': ref('RetryAfter'),
        },
      }),
    );
  }
  return applyDecorators(...decorators);
}

/** The `X-Request-Id` request header, read on every route (see src/http/request-id.ts). */
const REQUEST_ID_PARAMETER: ParameterObject = {
  name: REQUEST_ID_HEADER,
  in: 'header',
  required: false,
  description:
    'Correlates logs across services: kept and echoed when it is 1-128 characters of `A-Z a-z 0-9 . _ -`, otherwise replaced by a new UUID',
  schema: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,128}$', example: 'req-7f3a' },
};

const TAGS: [string, string][] = [
  ['users', 'Users: cache-aside reads and locked updates'],
  ['posts', 'Posts, and a user’s recent posts and post count (write-through to Redis)'],
  ['pages', 'Pages: view counters with write-back, unique visitors (HyperLogLog)'],
  ['leaderboard', 'Leaderboards on sorted sets (Redis is the source of truth)'],
  ['followers', 'Followers on sets (Redis is the source of truth)'],
  ['reports', 'A long job under a distributed lock'],
  [
    'auth',
    'Logins, sessions and tokens (sessions in Redis, JWT with revocation, rotating refresh tokens)',
  ],
  ['operations', 'Health checks (not rate limited)'],
];

/** The OpenAPI document of the app, served at `/docs` and `/docs/json`. */
export function createApiDocument(app: INestApplication): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('Nest Redis patterns')
    .setDescription(
      'Reference API: cache, locks, rate limits, counters, leaderboards and followers on Redis. ' +
        'Every error is JSON (`ErrorDto`); every response carries `X-Request-Id`; rate-limited routes ' +
        'carry `RateLimit-Policy` and `RateLimit` and answer 429 with `Retry-After`.',
    )
    .setVersion('0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'bearer')
    .addCookieAuth('sid', { type: 'apiKey', in: 'cookie', name: 'sid' }, 'session');
  for (const [name, description] of TAGS) builder.addTag(name, description);
  const doc = SwaggerModule.createDocument(app, builder.build());
  doc.components = { ...doc.components, headers: HEADERS };
  // Added here rather than with DocumentBuilder.addGlobalParameters, whose storage is
  // process-wide and would grow with every app created in the same process (tests).
  for (const item of Object.values(doc.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const) {
      const op = item[method];
      if (op) op.parameters = [...(op.parameters ?? []), REQUEST_ID_PARAMETER];
    }
  }
  return doc;
}
