import { LockService } from '../../src/lock';
import { createTestApp, PLATFORMS, TestApp, testPrefix } from '../support/app';
import { describeOnPlatforms, PlatformAppOptions } from '../support/platforms';
import { ApiContract, headerRecord, Operation, SeenResponse } from '../support/openapi';
import { startRedisServer, TestRedis } from '../support/redis';
import {
  exampleBody,
  jsonRequest,
  pathParams,
  queryParams,
  RequestSpec,
  violations,
} from './requests';

/**
 * The app against its own OpenAPI document (`/docs/json`), on both platforms: the document is
 * valid OpenAPI and complete (summary, tag, error schema, headers on every operation); every
 * operation answers a valid request built from the document with a documented 2xx, and
 * requests that break a documented constraint with a documented 4xx; every response — status,
 * body (against the schema of that status, objects closed) and headers — is what the document
 * says. 429 (a tiny rate limit) and 503 (Redis stopped) are provoked on apps of their own.
 */

interface Case {
  name: string;
  op: Operation;
  spec: RequestSpec;
  /** The status the request must get; undefined: any documented status. */
  expect?: number | '2xx';
  /** Refused while the body is parsed, before the rate limiter runs (no RateLimit headers). */
  beforeGuard?: boolean;
}

const MAX_ID = 2_147_483_647;

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
  // In order unless told otherwise: later cases read what earlier ones wrote.
  const responses = o.parallel ? await Promise.all(cases.map((c) => send(baseUrl, c.spec))) : [];
  for (const [i, c] of cases.entries()) {
    const res = responses[i] ?? (await send(baseUrl, c.spec));
    const found = contract.check(c.op, res).map((p) => `${c.name}: ${p}`);
    const ok =
      c.expect === undefined ||
      (c.expect === '2xx' ? res.status >= 200 && res.status < 300 : res.status === c.expect);
    if (!ok)
      found.push(`${c.name}: expected ${c.expect}, got ${res.status} ${res.text.slice(0, 200)}`);
    if (o.rateLimitHeaders && c.op.rateLimited && !c.beforeGuard) {
      for (const h of ['ratelimit', 'ratelimit-policy'])
        if (!res.headers[h]) found.push(`${c.name}: ${res.status} without ${h}`);
    }
    problems.push(...found);
  }
  return problems;
}

/** Writes first (so the reads find what they wrote), then reads, then deletes. */
function byWritesFirst(a: Operation, b: Operation): number {
  const rank = (m: string) => ({ POST: 0, PATCH: 0, GET: 1, DELETE: 2 })[m] ?? 1;
  return rank(a.method) - rank(b.method);
}

function validCases(contract: ApiContract): Case[] {
  return [...contract.operations].sort(byWritesFirst).map((op) => ({
    name: `valid ${op.id}`,
    op,
    spec: jsonRequest(op),
    expect: '2xx' as const,
  }));
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
  beforeAll(async () => {
    contract = await ApiContract.load(t.url);
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
      for (const p of op.parameters) {
        if (!p.schema) problems.push(`${op.id}: parameter ${p.name} has no schema`);
        if (/^(id|followerId|otherId)$/.test(p.name)) {
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
  });

  it('every operation answers a valid request built from the document with a documented 2xx', async () => {
    const cases = validCases(contract);
    expect(cases.length).toBe(contract.operations.length);
    expect(await run(t.url, contract, cases, { rateLimitHeaders: true })).toEqual([]);
  });

  it('requests that break a documented constraint get the documented 400, 413 or 415 with the error body', async () => {
    const cases = invalidCases(contract, t.config.bodyLimitBytes);
    expect(cases.length).toBeGreaterThan(150);
    expect(await run(t.url, contract, cases, { rateLimitHeaders: true })).toEqual([]);
  });

  it('ids of nothing get a documented answer: 404 for a path id, 422 for a body reference', async () => {
    const cases = absentCases(contract);
    expect(cases.length).toBeGreaterThan(15);
    const problems = await run(t.url, contract, cases, { rateLimitHeaders: true });
    expect(problems).toEqual([]);
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
            spec: jsonRequest(createUser, { body: { email: 'Grace@example.com', name: 'G' } }),
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
  beforeAll(async () => {
    redis = await startRedisServer();
    t = await createTestApp({
      platform,
      prefix: testPrefix(__filename),
      env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '500' },
    });
    contract = await ApiContract.load(t.url);
    await redis.stop();
  });
  afterAll(async () => {
    await t?.close();
    await redis?.close();
  });

  it('every operation still answers as documented; those that need Redis answer 503', async () => {
    const needsRedis =
      /^(GET|POST|DELETE) \/api\/(leaderboard|users\/\{id\}\/(followers|mutuals))|^PATCH \/api\/users|^POST \/api\/reports|unique-visitors$|^GET \/health\/ready$/;
    const cases: Case[] = [...contract.operations].sort(byWritesFirst).map((op) => ({
      name: `Redis down: ${op.id}`,
      op,
      spec: jsonRequest(op),
      expect: needsRedis.test(op.id) ? 503 : '2xx',
    }));
    expect(cases.filter((c) => c.expect === 503).length).toBeGreaterThanOrEqual(12);
    // In parallel: each one waits for Redis command timeouts.
    expect(await run(t.url, contract, cases, { rateLimitHeaders: false, parallel: true })).toEqual(
      [],
    );
  });
});
