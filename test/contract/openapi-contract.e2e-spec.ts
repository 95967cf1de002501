import { LockService } from '../../src/lock';
import { createTestApp, PLATFORMS, TestApp, testPrefix } from '../support/app';
import { Credentials, logIn, Scheme, sessionIdOf } from '../support/credentials';
import { describeOnPlatforms, PlatformAppOptions } from '../support/platforms';
import { ApiContract, headerRecord, Operation, SeenResponse } from '../support/openapi';
import { startRedisServer, TestRedis } from '../support/redis';
import {
  consumesCredentials,
  deadLetter,
  exampleBody,
  jsonRequest,
  liveInput,
  needsRole,
  pathParams,
  queryParams,
  RequestSpec,
  securityOf,
  violations,
} from './requests';

/**
 * The app against its own OpenAPI document (`/docs/json`), on both platforms: the document is
 * valid OpenAPI and complete (summary, tag, error schema, headers on every operation); every
 * operation answers a valid request built from the document with a documented 2xx, and
 * requests that break a documented constraint with a documented 4xx; every response — status,
 * body (against the schema of that status, objects closed) and headers — is what the document
 * says. 429 (a tiny rate limit) and 503 (Redis stopped) are provoked on apps of their own.
 *
 * Operations whose document entry has a security requirement get credentials obtained through
 * the documented endpoints (see test/support/credentials.ts): a session cookie or a Bearer token,
 * each scheme the document lists, for valid and invalid input alike (guards run before pipes:
 * without credentials, invalid input is a 401 too, which is checked on its own). Requests that
 * may use their credentials up (logout, revocation) log in afresh, as another user than the one
 * whose credentials the other requests share.
 */

interface Case {
  name: string;
  op: Operation;
  /** The request, or how to build it when it needs live credentials or state (just before it is sent). */
  spec: RequestSpec | (() => Promise<RequestSpec>);
  /** The status the request must get; undefined: any documented status. */
  expect?: number | '2xx';
  /** Refused while the body is parsed, before the rate limiter runs (no RateLimit headers). */
  beforeGuard?: boolean;
  /** What `WWW-Authenticate` must be (on top of the document's pattern). */
  challenge?: string | RegExp;
}

const MAX_ID = 2_147_483_647;

/** The challenge of a request that sent no credentials: nothing was refused, so no error. */
const NO_CREDENTIALS_CHALLENGE = 'Bearer realm="api"';

async function send(baseUrl: string, spec: RequestSpec): Promise<SeenResponse> {
  const res = await fetch(`${baseUrl}${spec.target}`, {
    method: spec.method,
    headers: spec.headers,
    body: spec.body,
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, headers: headerRecord(res.headers), text: await res.text() };
}

/** Runs the cases one by one; returns every way a response broke the document or the expectation. */
async function run(
  baseUrl: string,
  contract: ApiContract,
  cases: Case[],
  o: { rateLimitHeaders: boolean; parallel?: boolean },
): Promise<string[]> {
  const problems: string[] = [];
  // In order unless told otherwise: later cases read what earlier ones wrote. In parallel, every
  // request is built first (logins included), then they are all sent at once.
  const responses: SeenResponse[] = [];
  if (o.parallel) {
    const specs: RequestSpec[] = [];
    for (const c of cases) specs.push(await specOf(c));
    responses.push(...(await Promise.all(specs.map((spec) => send(baseUrl, spec)))));
  }
  for (const [i, c] of cases.entries()) {
    const res = responses[i] ?? (await send(baseUrl, await specOf(c)));
    const found = contract.check(c.op, res).map((p) => `${c.name}: ${p}`);
    const ok =
      c.expect === undefined ||
      (c.expect === '2xx' ? res.status >= 200 && res.status < 300 : res.status === c.expect);
    if (!ok)
      found.push(`${c.name}: expected ${c.expect}, got ${res.status} ${res.text.slice(0, 200)}`);
    const challenge = res.headers['www-authenticate'];
    if (
      c.challenge !== undefined &&
      !(typeof c.challenge === 'string'
        ? challenge === c.challenge
        : challenge !== undefined && c.challenge.test(challenge))
    )
      found.push(`${c.name}: WWW-Authenticate ${challenge}, expected ${String(c.challenge)}`);
    if (o.rateLimitHeaders && c.op.rateLimited && !c.beforeGuard) {
      for (const h of ['ratelimit', 'ratelimit-policy'])
        if (!res.headers[h]) found.push(`${c.name}: ${res.status} without ${h}`);
    }
    problems.push(...found);
  }
  return problems;
}

function specOf(c: Case): Promise<RequestSpec> {
  return typeof c.spec === 'function' ? c.spec() : Promise.resolve(c.spec);
}

/**
 * The credential variants of a valid request to `op`: each scheme its document entry lists, and
 * none when it needs none.
 */
function variants(op: Operation): (Scheme | undefined)[] {
  const { schemes, required } = securityOf(op);
  return [...schemes, ...(required ? [] : [undefined])];
}

/** A valid request to `op`, with credentials of `scheme` and live input where it needs some. */
function validRequest(
  op: Operation,
  scheme: Scheme | undefined,
  credentials: Credentials,
): () => Promise<RequestSpec> {
  return async () =>
    jsonRequest(op, {
      ...(await liveInput(op, credentials)),
      headers: scheme
        ? needsRole(op)
          ? await credentials.adminHeaders(scheme)
          : await credentials.headers(scheme, consumesCredentials(op))
        : {},
    });
}

function variantName(op: Operation, scheme: Scheme | undefined): string {
  if (scheme) return ` with ${scheme}`;
  return securityOf(op).schemes.length > 0 ? ' without credentials' : '';
}

/**
 * The cases of operations whose document entry has a security requirement, with credentials:
 * the schemes the document lists, in turn.
 */
function withCredentials(cases: Case[], credentials: Credentials): Case[] {
  const turn = new Map<string, number>();
  return cases.map((c) => {
    const { schemes } = securityOf(c.op);
    if (schemes.length === 0) return c;
    const i = turn.get(c.op.id) ?? 0;
    turn.set(c.op.id, i + 1);
    const scheme = schemes[i % schemes.length];
    const spec = c.spec;
    return {
      ...c,
      name: `${c.name} with ${scheme}`,
      spec: async () => {
        const s = typeof spec === 'function' ? await spec() : spec;
        const auth = needsRole(c.op)
          ? await credentials.adminHeaders(scheme)
          : await credentials.headers(scheme, consumesCredentials(c.op));
        return { ...s, headers: { ...s.headers, ...auth } };
      },
    };
  });
}

/** Writes first (so the reads find what they wrote), then reads, then deletes. */
function byWritesFirst(a: Operation, b: Operation): number {
  const rank = (m: string) => ({ POST: 0, PATCH: 0, GET: 1, DELETE: 2 })[m] ?? 1;
  return rank(a.method) - rank(b.method);
}

function validCases(contract: ApiContract, credentials: Credentials): Case[] {
  return [...contract.operations].sort(byWritesFirst).flatMap((op) =>
    variants(op).map((scheme) => ({
      name: `valid ${op.id}${variantName(op, scheme)}`,
      op,
      spec: validRequest(op, scheme, credentials),
      expect: '2xx' as const,
    })),
  );
}

function invalidCases(contract: ApiContract, bodyLimit: number): Case[] {
  const cases: Case[] = [];
  for (const op of contract.operations) {
    for (const p of pathParams(op)) {
      for (const v of violations(p.schema, true)) {
        cases.push({
          name: `${op.id} path ${p.name} ${v.what} (${String(v.value).slice(0, 20)})`,
          op,
          spec: jsonRequest(op, { path: { [p.name]: String(v.value) } }),
          expect: 400,
        });
      }
    }
    for (const q of queryParams(op)) {
      for (const v of violations(q.schema, true)) {
        cases.push({
          name: `${op.id} query ${q.name} ${v.what}`,
          op,
          spec: jsonRequest(op, { query: [[q.name, encodeURIComponent(String(v.value))]] }),
          expect: 400,
        });
      }
    }
    if (op.method === 'GET') continue;
    // Any body sent to a POST, PATCH or DELETE must pass the JSON body contract, used or not.
    const json = {
      ...jsonRequest(op),
      headers: { ...jsonRequest(op).headers, 'content-type': 'application/json' },
    };
    cases.push(
      {
        name: `${op.id} malformed JSON`,
        op,
        spec: { ...json, body: '{"a":' },
        expect: 400,
        beforeGuard: true,
      },
      {
        name: `${op.id} text/plain body`,
        op,
        spec: {
          ...json,
          headers: { ...json.headers, 'content-type': 'text/plain' },
          body: json.body ?? 'hi',
        },
        expect: 415,
        beforeGuard: true,
      },
      {
        name: `${op.id} body over the limit`,
        op,
        spec: { ...json, body: JSON.stringify({ pad: 'x'.repeat(bodyLimit) }) },
        expect: 413,
        beforeGuard: true,
      },
    );
    if (!op.body) continue;
    const example = exampleBody(op)!;
    for (const [field, schema] of Object.entries(op.body.properties ?? {})) {
      for (const v of violations(schema as Record<string, unknown>, false)) {
        cases.push({
          name: `${op.id} body ${field} ${v.what}`,
          op,
          spec: jsonRequest(op, { body: { ...example, [field]: v.value } }),
          expect: 400,
        });
      }
    }
    for (const field of (op.body.required ?? []) as string[]) {
      const { [field]: _gone, ...rest } = example;
      cases.push({
        name: `${op.id} body without ${field}`,
        op,
        spec: jsonRequest(op, { body: rest }),
        expect: 400,
      });
    }
    cases.push(
      {
        name: `${op.id} body with an undocumented field`,
        op,
        spec: jsonRequest(op, { body: { ...example, undocumented: 1 } }),
        expect: 400,
      },
      {
        name: `${op.id} body that is an array`,
        op,
        spec: jsonRequest(op, { body: [example] }),
        expect: 400,
      },
    );
  }
  return cases;
}

/** Valid requests naming ids that do not exist (404 for the path, 422 for a body reference). */
function absentCases(contract: ApiContract): Case[] {
  const cases: Case[] = [];
  for (const op of contract.operations) {
    for (const p of pathParams(op).filter((p) => p.schema.type === 'integer')) {
      cases.push({
        name: `${op.id} with ${p.name}=${MAX_ID} (absent)`,
        op,
        spec: jsonRequest(op, { path: { [p.name]: String(MAX_ID) } }),
        // The user or page the path names must exist; a follower id there is only looked up.
        expect: p.name === 'followerId' ? undefined : 404,
      });
    }
    const example = exampleBody(op);
    for (const [field, schema] of Object.entries<Record<string, unknown>>(
      op.body?.properties ?? {},
    )) {
      if (schema.type !== 'integer') continue;
      cases.push({
        name: `${op.id} with body ${field}=${MAX_ID} (absent)`,
        op,
        spec: jsonRequest(op, { body: { ...example, [field]: MAX_ID } }),
        expect: 422,
      });
    }
  }
  return cases;
}

describeOnPlatforms('OpenAPI contract', (t) => {
  let contract: ApiContract;
  let credentials: Credentials;
  beforeAll(async () => {
    contract = await ApiContract.load(t.url);
    credentials = new Credentials(t.url);
    credentials.failedJob = () => deadLetter(t.app);
  });

  it('the document is valid OpenAPI 3.0 and describes every operation completely', () => {
    const problems: string[] = [];
    expect(contract.operations.length).toBeGreaterThanOrEqual(20);
    for (const op of contract.operations) {
      const raw = contract.raw.paths[op.path][op.method.toLowerCase()];
      if (!op.summary) problems.push(`${op.id}: no summary`);
      if (op.tags.length === 0) problems.push(`${op.id}: no tag`);
      const statuses = Object.keys(op.responses);
      if (!statuses.some((s) => s.startsWith('2'))) problems.push(`${op.id}: no success response`);
      for (const [status, res] of Object.entries(op.responses)) {
        if (!res.headers?.['X-Request-Id']?.required)
          problems.push(`${op.id} ${status}: X-Request-Id not documented as required`);
        const schema = raw.responses[status].content?.['application/json']?.schema;
        if (status !== '204' && !schema) problems.push(`${op.id} ${status}: no body schema`);
        const isHealthReport = op.path === '/health/ready';
        if (
          Number(status) >= 400 &&
          !isHealthReport &&
          schema?.$ref !== '#/components/schemas/ErrorDto'
        )
          problems.push(`${op.id} ${status}: error body is not ErrorDto`);
      }
      const limited = !op.path.startsWith('/health/');
      if (limited !== op.rateLimited) problems.push(`${op.id}: 429 documented = ${op.rateLimited}`);
      if (limited) {
        const r429 = op.responses['429'];
        for (const h of ['Retry-After', 'RateLimit', 'RateLimit-Policy'])
          if (!r429?.headers?.[h]?.required) problems.push(`${op.id} 429: ${h} not required`);
        for (const [status, res] of Object.entries(op.responses)) {
          const parsedFirst = status === '413' || status === '415';
          if (!parsedFirst && !(res.headers?.RateLimit && res.headers['RateLimit-Policy']))
            problems.push(`${op.id} ${status}: RateLimit headers not documented`);
        }
      }
      // Every method but GET has its body (if any) parsed: the body contract's statuses.
      if (op.method !== 'GET') {
        for (const s of ['400', '413', '415'])
          if (!op.responses[s]) problems.push(`${op.id}: ${s} (body contract) not documented`);
      }
      const { schemes, required } = securityOf(op);
      for (const scheme of schemes)
        if (!contract.doc.components.securitySchemes?.[scheme])
          problems.push(`${op.id}: security scheme ${scheme} is not defined`);
      if (required) {
        // What the guard answers: 401 with the challenge, 400 for a malformed Authorization
        // header, 503 when the credential cannot be checked.
        if (!op.responses['401']?.headers?.['WWW-Authenticate']?.required)
          problems.push(`${op.id}: 401 without a required WWW-Authenticate`);
        for (const s of ['400', '503'])
          if (!op.responses[s]) problems.push(`${op.id}: ${s} (credentials) not documented`);
      }
      for (const p of op.parameters) {
        if (!p.schema) problems.push(`${op.id}: parameter ${p.name} has no schema`);
        // Database ids are integers; an id documented as a string is another kind of id (a
        // session's), which the rule does not cover.
        if (/^(id|followerId|otherId)$/.test(p.name) && p.schema?.type !== 'string') {
          expect({ op: op.id, ...p.schema }).toMatchObject({
            op: op.id,
            type: 'integer',
            minimum: 1,
            maximum: MAX_ID,
          });
        }
      }
    }
    expect(problems).toEqual([]);
    // The constraints the validators enforce are in the document.
    const schemas = contract.doc.components.schemas;
    expect(schemas.CreateUserDto.properties.email.format).toBe('email');
    expect(schemas.CreatePostDto.properties.userId).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: MAX_ID,
    });
    expect(schemas.ScoreDto.properties.member.pattern).toBe('^[A-Za-z0-9_.@-]{1,64}$');
    const top = contract
      .operation('GET /api/leaderboard/{board}')
      .parameters.find((p) => p.name === 'top');
    expect(top?.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 100 });
    const board = contract
      .operation('GET /api/leaderboard/{board}')
      .parameters.find((p) => p.name === 'board');
    expect(board?.schema.pattern).toBe('^[a-z0-9][a-z0-9_-]{0,31}$');
    const date = contract
      .operation('GET /api/pages/{id}/unique-visitors')
      .parameters.find((p) => p.name === 'date');
    expect(date?.schema.format).toBe('date');
    const visitor = contract
      .operation('GET /api/pages/{id}')
      .parameters.find((p) => p.name === 'X-Visitor-Id');
    expect(visitor?.in).toBe('header');
    // Which operations need credentials, which take them optionally, and which kind of id a
    // session is.
    const secured = contract.operations.filter((op) => securityOf(op).required).map((op) => op.id);
    expect(secured.sort()).toEqual(
      [
        'GET /api/me',
        'GET /api/me/sessions',
        'DELETE /api/me/sessions/{id}',
        'POST /api/me/sessions/revoke-others',
        'POST /api/auth/logout',
        'POST /api/auth/logout-all',
        'POST /api/send-email',
        'POST /api/reports',
        'GET /api/jobs/{queue}/{id}',
        'GET /api/notifications',
        'POST /api/notify',
        'GET /api/admin/queues/{queue}/failed',
        'POST /api/admin/queues/{queue}/jobs/{id}/retry',
        'GET /api/admin/redis/slowlog',
        'GET /api/admin/redis/info',
        'GET /api/admin/redis/latency',
        'GET /api/admin/redis/memory',
        'GET /api/admin/redis/bigkeys',
        'GET /api/feed',
      ].sort(),
    );
    for (const id of secured)
      expect(securityOf(contract.operation(id)).schemes.sort()).toEqual(['bearer', 'session']);
    expect(securityOf(contract.operation('POST /api/logout'))).toEqual({
      schemes: ['session'],
      required: false,
    });
    const sessionId = contract
      .operation('DELETE /api/me/sessions/{id}')
      .parameters.find((p) => p.name === 'id');
    expect(sessionId?.schema.type).toBe('string');
    expect(schemas.SessionDto.properties.id.pattern).toBe('^[A-Za-z0-9_-]{43}$');
  });

  it('every operation answers a valid request built from the document with a documented 2xx, with each credential its document lists', async () => {
    const cases = validCases(contract, credentials);
    expect(new Set(cases.map((c) => c.op.id)).size).toBe(contract.operations.length);
    expect(cases.filter((c) => / with (session|bearer)$/.test(c.name)).length).toBeGreaterThan(12);
    expect(await run(t.url, contract, cases, { rateLimitHeaders: true })).toEqual([]);
    // No case logged out the credentials the others share.
    for (const scheme of ['session', 'bearer'] as const) {
      const me = await send(t.url, {
        method: 'GET',
        target: '/api/me',
        headers: await credentials.headers(scheme, false),
      });
      expect({ scheme, status: me.status }).toEqual({ scheme, status: 200 });
    }
  });

  it('requests that break a documented constraint get the documented 400, 413 or 415 with the error body', async () => {
    const cases = withCredentials(invalidCases(contract, t.config.bodyLimitBytes), credentials);
    expect(cases.length).toBeGreaterThan(150);
    expect(cases.filter((c) => / with (session|bearer)$/.test(c.name)).length).toBeGreaterThan(12);
    expect(await run(t.url, contract, cases, { rateLimitHeaders: true })).toEqual([]);
  });

  it('ids of nothing get a documented answer: 404 for a path id, 422 for a body reference', async () => {
    const cases = withCredentials(absentCases(contract), credentials);
    expect(cases.length).toBeGreaterThan(15);
    const problems = await run(t.url, contract, cases, { rateLimitHeaders: true });
    expect(problems).toEqual([]);
  });

  it('a session id that is not one of the user’s gets the documented 404, and that session lives on', async () => {
    const revoke = contract.operation('DELETE /api/me/sessions/{id}');
    // A session of another user (the consumer's), and its cookie to check it afterwards.
    const theirs = await logIn(t.url, credentials.users.consumer);
    const theirId = await sessionIdOf(t.url, theirs);
    const cases: Case[] = (['session', 'bearer'] as const).flatMap((scheme) => [
      {
        name: `an id that names no session, with ${scheme}`,
        op: revoke,
        spec: async () =>
          jsonRequest(revoke, { headers: await credentials.headers(scheme, false) }),
        expect: 404,
      },
      {
        name: `another user’s session, with ${scheme}`,
        op: revoke,
        spec: async () =>
          jsonRequest(revoke, {
            path: { id: theirId },
            headers: await credentials.headers(scheme, false),
          }),
        expect: 404,
      },
    ]);
    expect(await run(t.url, contract, cases, { rateLimitHeaders: true })).toEqual([]);
    const me = await send(t.url, { method: 'GET', target: '/api/me', headers: { cookie: theirs } });
    expect(me.status).toBe(200);
  });

  it('an anonymous request to an operation that needs credentials gets the documented 401 with WWW-Authenticate, whatever its input (guards run before pipes)', async () => {
    const secured = contract.operations.filter((op) => securityOf(op).required);
    expect(secured.length).toBeGreaterThanOrEqual(6);
    const anonymous = (c: Case): Case => ({
      ...c,
      name: `anonymous: ${c.name}`,
      expect: 401,
      challenge: NO_CREDENTIALS_CHALLENGE,
    });
    const cases: Case[] = [
      ...secured.map((op) => anonymous({ name: `valid ${op.id}`, op, spec: jsonRequest(op) })),
      // Input a pipe or the handler would refuse, or would not find: the guard answers first.
      ...secured
        .filter((op) => pathParams(op).length > 0)
        .map((op) =>
          anonymous({
            name: `${op.id} naming nothing`,
            op,
            spec: jsonRequest(op, {
              path: Object.fromEntries(
                pathParams(op).map((p) => [p.name, p.schema.type === 'string' ? '!' : '0']),
              ),
            }),
          }),
        ),
      ...[...invalidCases(contract, t.config.bodyLimitBytes), ...absentCases(contract)]
        .filter((c) => securityOf(c.op).required && !c.beforeGuard)
        .map(anonymous),
      // A body that is JSON but not read: the body contract passes, the guard refuses.
      ...secured
        .filter((op) => op.method !== 'GET' && !op.body)
        .map((op) =>
          anonymous({
            name: `${op.id} with an unread JSON body`,
            op,
            spec: jsonRequest(op, { body: { a: 1 } }),
          }),
        ),
    ];
    expect(cases.length).toBeGreaterThan(secured.length);
    expect(await run(t.url, contract, cases, { rateLimitHeaders: true })).toEqual([]);
  });

  it('a malformed Authorization header gets the documented 400 invalid_request, a token that is not one the documented 401 invalid_token', async () => {
    const secured = contract.operations.filter((op) => securityOf(op).required);
    const cases: Case[] = secured.flatMap((op) => [
      {
        name: `${op.id} with Authorization: Basic`,
        op,
        spec: jsonRequest(op, {
          headers: { authorization: 'Basic YWRhOnJlZGlzLXBhdHRlcm5zLWRldg==' },
        }),
        expect: 400,
        challenge: /^Bearer realm="api", error="invalid_request"/,
      },
      {
        name: `${op.id} with a Bearer token that is no JWT`,
        op,
        spec: jsonRequest(op, { headers: { authorization: 'Bearer not.a.jwt' } }),
        expect: 401,
        challenge: /^Bearer realm="api", error="invalid_token"/,
      },
    ]);
    expect(await run(t.url, contract, cases, { rateLimitHeaders: true })).toEqual([]);
  });

  it('conflicts answer the documented 409: a taken email, a resource being updated, a self-follow 400', async () => {
    const createUser = contract.operation('POST /api/users');
    const patchUser = contract.operation('PATCH /api/users/{id}');
    const report = contract.operation('POST /api/reports/daily');
    const follow = contract.operation('POST /api/users/{id}/followers');
    const locks = t.app.get(LockService);
    const held = await locks.acquire('report:daily', { ttl: 30_000 });
    try {
      const problems = await run(
        t.url,
        contract,
        [
          {
            name: 'a new user with a taken email',
            op: createUser,
            spec: jsonRequest(createUser, {
              body: { email: 'Grace@example.com', name: 'G', password: 'correct horse battery' },
            }),
            expect: 409,
          },
          {
            name: 'another user given a taken email',
            op: patchUser,
            spec: jsonRequest(patchUser, {
              path: { id: '2' },
              body: { email: 'grace@example.com' },
            }),
            expect: 409,
          },
          {
            name: 'the daily report while another generation holds the lock',
            op: report,
            spec: jsonRequest(report),
            expect: 409,
          },
          {
            name: 'a user following themselves',
            op: follow,
            spec: jsonRequest(follow, { path: { id: '3' }, body: { followerId: 3 } }),
            expect: 400,
          },
          {
            name: 'an update that changes nothing',
            op: patchUser,
            spec: jsonRequest(patchUser, { body: {} }),
            expect: 400,
          },
        ],
        { rateLimitHeaders: true },
      );
      expect(problems).toEqual([]);
      const locked = await send(t.url, jsonRequest(report));
      expect(JSON.parse(locked.text)).toMatchObject({ error: 'Resource is being updated' });
    } finally {
      await held.release();
    }
  });
});

const limitOf1: PlatformAppOptions = { env: { RATE_LIMIT: '1/60s' } };

describeOnPlatforms('OpenAPI contract under a rate limit of 1 request', limitOf1, (t) => {
  let contract: ApiContract;
  beforeAll(async () => {
    contract = await ApiContract.load(t.url);
  });

  it('every rate-limited operation answers its second request with the documented 429 and Retry-After', async () => {
    const limited = contract.operations.filter((op) => op.rateLimited);
    expect(limited.length).toBeGreaterThanOrEqual(18);
    const cases: Case[] = limited.flatMap((op) => [
      { name: `first ${op.id}`, op, spec: jsonRequest(op) },
      { name: `second ${op.id}`, op, spec: jsonRequest(op), expect: 429 },
    ]);
    expect(await run(t.url, contract, cases, { rateLimitHeaders: true })).toEqual([]);
  });

  it('health checks are not rate limited', async () => {
    const live = contract.operation('GET /health/live');
    const cases: Case[] = [1, 2, 3].map((i) => ({
      name: `live #${i}`,
      op: live,
      spec: jsonRequest(live),
      expect: 200,
    }));
    // In parallel: each one waits for Redis command timeouts.
    expect(await run(t.url, contract, cases, { rateLimitHeaders: false, parallel: true })).toEqual(
      [],
    );
  });
});

describe.each(PLATFORMS)('OpenAPI contract with Redis stopped on %s', (platform) => {
  let redis: TestRedis;
  let t: TestApp;
  let contract: ApiContract;
  let cases: Case[];
  beforeAll(async () => {
    redis = await startRedisServer();
    t = await createTestApp({
      platform,
      prefix: testPrefix(__filename),
      env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '500' },
    });
    contract = await ApiContract.load(t.url);
    // Credentials (and refresh tokens, session ids) are obtained while Redis still answers.
    const credentials = new Credentials(t.url);
    credentials.failedJob = () => deadLetter(t.app);
    const needsRedis =
      /^(GET|POST|DELETE) \/api\/(leaderboard|users\/\{id\}\/(followers|mutuals))|^PATCH \/api\/users|^POST \/api\/reports|unique-visitors$|^GET \/api\/dev\/outbox$|^GET \/health\/ready$|^POST \/api\/(login|auth\/(token|refresh))$/;
    cases = [];
    for (const op of [...contract.operations].sort(byWritesFirst)) {
      const { required } = securityOf(op);
      for (const scheme of [...variants(op), ...(required ? [undefined] : [])]) {
        cases.push({
          name: `Redis down: ${op.id}${variantName(op, scheme)}`,
          op,
          spec: await validRequest(op, scheme, credentials)(),
          // A credential cannot be checked (fail closed); no credential is refused without Redis.
          expect: scheme ? 503 : required ? 401 : needsRedis.test(op.id) ? 503 : '2xx',
        });
      }
    }
    await redis.stop();
  });
  afterAll(async () => {
    await t?.close();
    await redis?.close();
  });

  it('every operation still answers as documented; those that need Redis answer 503, with credentials too', async () => {
    expect(cases.filter((c) => c.expect === 503).length).toBeGreaterThanOrEqual(12);
    expect(cases.filter((c) => c.expect === 503 && / with /.test(c.name)).length).toBeGreaterThan(
      12,
    );
    // In parallel: each one waits for Redis command timeouts.
    expect(await run(t.url, contract, cases, { rateLimitHeaders: false, parallel: true })).toEqual(
      [],
    );
  });
});
