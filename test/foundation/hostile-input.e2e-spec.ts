import { gzipSync } from 'node:zlib';
import { http } from '../support/app';
import { describeOnPlatforms, PlatformAppOptions } from '../support/platforms';
import { rawRequest, RawResponse } from '../support/raw-http';

/**
 * Input an attacker or a broken client sends, on both platforms: every answer is a 4xx with the
 * JSON error body `{ statusCode, error, message }`, the platforms agree, and nothing hangs.
 */
function expectJsonError(res: { status: number; body?: unknown; json?: unknown }, status: number) {
  expect(res.status).toBe(status);
  const body = ('json' in res ? res.json : res.body) as Record<string, unknown>;
  expect(body).toEqual(
    expect.objectContaining({
      statusCode: status,
      error: expect.any(String),
      message: expect.anything(),
    }),
  );
}

const nestedArrays = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const nestedObjects = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

const appOptions: PlatformAppOptions = {
  env: {
    HTTP_REQUEST_TIMEOUT_MS: '1500',
    HTTP_HEADERS_TIMEOUT_MS: '1000',
    HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000',
  },
};

describeOnPlatforms('hostile input', appOptions, (t) => {
  const post = (path: string, raw: string, headers: Record<string, string> = {}) =>
    http(`${t.url}${path}`, {
      method: 'POST',
      raw,
      headers: { 'content-type': 'application/json', ...headers },
    });

  describe('deeply nested JSON is a cheap 400, not a stack overflow', () => {
    it.each([
      [
        '1,500 nested arrays in a leaderboard score',
        '/api/leaderboard/deep/scores',
        1500,
        'arrays',
      ],
      ['2,500 nested objects in a new user', '/api/users', 2500, 'objects'],
      ['100,000 nested arrays (the body limit allows it)', '/api/posts', 50_000, 'arrays'],
    ])('%s → 400', async (_what, path, depth, kind) => {
      const nested = kind === 'arrays' ? nestedArrays(depth) : nestedObjects(depth);
      const res = await post(path, `{"member":"ada","score":1,"extra":${nested}}`);
      expectJsonError(res, 400);
      expect(res.body.message).toMatch(/nested too deeply/);
    });

    it('a body nested within the limit is still validated normally', async () => {
      const res = await post(
        '/api/leaderboard/deep/scores',
        `{"member":"ada","score":1,"x":[[1]]}`,
      );
      expectJsonError(res, 400);
      expect(res.body.message).toEqual(['property x should not exist']);
    });
  });

  describe('text the database would refuse is a 400 naming the field', () => {
    it.each([
      [
        'POST /api/users name',
        'POST',
        '/api/users',
        { email: 'nul1@example.com', name: 'a\u0000b', password: 'correct horse battery' },
        'name',
      ],
      ['PATCH /api/users/1 name', 'PATCH', '/api/users/1', { name: 'a\u0000b' }, 'name'],
      [
        'POST /api/posts title',
        'POST',
        '/api/posts',
        { userId: 1, title: 'a\u0000', content: 'c' },
        'title',
      ],
      [
        'POST /api/posts content',
        'POST',
        '/api/posts',
        { userId: 1, title: 't', content: '\u0000' },
        'content',
      ],
    ])('a NUL byte in %s → 400', async (_what, method, path, body, field) => {
      const res = await http(`${t.url}${path}`, { method, body });
      expectJsonError(res, 400);
      expect(res.body.message).toEqual([`${field} must not contain NUL characters`]);
    });

    it('a lone UTF-16 surrogate in email → 400', async () => {
      const res = await http(`${t.url}/api/users`, {
        method: 'POST',
        body: { email: 'a\ud800b@example.com', name: 'Lone', password: 'correct horse battery' },
      });
      expectJsonError(res, 400);
      expect(res.body.message).toEqual([expect.stringMatching(/^email must be valid Unicode/)]);
    });

    it('bytes that are not UTF-8 → 400', async () => {
      const body = Buffer.concat([
        Buffer.from('{"email":"bytes@example.com","name":"'),
        Buffer.from([0xff, 0xfe, 0xc3]),
        Buffer.from('"}'),
      ]);
      const raw = await rawRequest(t.url, [
        `POST /api/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
        body,
      ]);
      expectJsonError(raw, 400);
      expect(raw.json.message).toMatch(/not valid UTF-8/);
    });

    it.each([
      [
        'name',
        '/api/users',
        { email: 'blank@example.com', name: ' \t ', password: 'correct horse battery' },
      ],
      ['title', '/api/posts', { userId: 1, title: '   ', content: 'c' }],
      ['content', '/api/posts', { userId: 1, title: 't', content: '\n \n' }],
    ])('whitespace-only %s → 400', async (field, path, body) => {
      const res = await http(`${t.url}${path}`, { method: 'POST', body });
      expectJsonError(res, 400);
      expect(res.body.message).toEqual([
        expect.stringMatching(
          new RegExp(`^${field} must (not be blank|not contain control characters)`),
        ),
      ]);
    });

    it('PATCH {"name": null} is refused instead of answering 200 and changing nothing', async () => {
      const res = await http(`${t.url}/api/users/1`, { method: 'PATCH', body: { name: null } });
      expectJsonError(res, 400);
      expect(res.body.message).toEqual(['name must be a string']);
    });

    it('a missing field says it is missing', async () => {
      const res = await http(`${t.url}/api/users`, { method: 'POST', body: {} });
      expectJsonError(res, 400);
      expect(res.body.message).toEqual([
        'email is required',
        'name is required',
        'password is required',
      ]);
    });

    it.each(['2024-02-30', '2023-02-29', '2024-13-01', '2024-00-10'])(
      'unique-visitors?date=%s (a day that does not exist) → 400',
      async (date) => {
        const res = await http(`${t.url}/api/pages/1/unique-visitors?date=${date}`);
        expectJsonError(res, 400);
      },
    );

    it('unique-visitors?date=2024-02-29 (a leap day) → 200', async () => {
      expect((await http(`${t.url}/api/pages/1/unique-visitors?date=2024-02-29`)).status).toBe(200);
    });
  });

  describe('both platforms accept and refuse the same bodies', () => {
    it.each([
      ['__proto__', '{"email":"p@example.com","name":"P","__proto__":{"admin":true}}'],
      [
        'constructor',
        '{"email":"c@example.com","name":"C","constructor":{"prototype":{"admin":true}}}',
      ],
      ['a nested __proto__', '{"member":"ada","score":1,"x":{"__proto__":{}}}'],
    ])('a %s key → 400', async (_what, raw) => {
      const res = await post('/api/users', raw);
      expectJsonError(res, 400);
      expect(res.body.message).toMatch(/forbidden key/);
    });

    it.each([
      ['charset=utf-16', { 'content-type': 'application/json; charset=utf-16' }],
      ['charset=latin1', { 'content-type': 'application/json; charset=iso-8859-1' }],
      ['text/plain', { 'content-type': 'text/plain' }],
      ['a form', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['Content-Encoding: gzip on a plain body', { 'content-encoding': 'gzip' }],
    ])('%s → 415', async (_what, headers) => {
      const res = await post('/api/users', '{"email":"e@example.com","name":"E"}', headers);
      expectJsonError(res, 415);
    });

    it('a really gzipped body → 415 (compressed bodies are not accepted)', async () => {
      const body = gzipSync('{"email":"gz@example.com","name":"Gz"}');
      const raw = await rawRequest(t.url, [
        `POST /api/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
        body,
      ]);
      expectJsonError(raw, 415);
    });

    it('charset=utf-8 (any case) and application/*+json are accepted', async () => {
      const a = await post(
        '/api/users',
        '{"email":"u8@example.com","name":"U","password":"correct horse battery"}',
        {
          'content-type': 'application/json; charset=UTF-8',
        },
      );
      expect(a.status).toBe(201);
      const b = await post(
        '/api/users',
        '{"email":"u9@example.com","name":"U","password":"correct horse battery"}',
        {
          'content-type': 'application/merge-patch+json',
        },
      );
      expect(b.status).toBe(201);
    });

    it('a body refused for its Content-Type is refused whatever its size: 415, not 413', async () => {
      const res = await post('/api/users', 'x'.repeat(200_000), { 'content-type': 'text/plain' });
      expectJsonError(res, 415);
    });

    it('a GET body is ignored, whatever it is', async () => {
      const raw = await rawRequest(
        t.url,
        'GET /api/users/1 HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{oops',
      );
      expect(raw.status).toBe(200);
      expect(raw.json).toMatchObject({ id: 1 });
    });

    it('a body sent to a route that reads none must still be JSON: 415', async () => {
      const res = await post('/api/reports/daily', 'hello', { 'content-type': 'text/plain' });
      expectJsonError(res, 415);
    });

    it.each(['ü@example.com', 'ａｄａ@example.com', '"a b"@example.com', 'a@bücher.example'])(
      'an e-mail address outside format: email (%s) → 400',
      async (email) => {
        const res = await http(`${t.url}/api/users`, {
          method: 'POST',
          body: { email, name: 'Idn', password: 'correct horse battery' },
        });
        expectJsonError(res, 400);
        expect(res.body.message).toEqual([expect.stringMatching(/^email must be a valid e-mail/)]);
      },
    );

    it('a body with no Content-Type → 415', async () => {
      const raw = await rawRequest(
        t.url,
        'POST /api/users HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}',
      );
      expectJsonError(raw, 415);
    });

    it.each([
      ['no body', undefined, /body is required/],
      ['an empty body', '', /body is required/],
      ['null', 'null', /must be a JSON object, not null/],
      ['an array', '[]', /must be a JSON object, not an array/],
      ['a string', '"x"', /must be a JSON object, not a string/],
    ])('POST /api/users with %s → 400', async (_what, raw, message) => {
      const res =
        raw === undefined
          ? await http(`${t.url}/api/users`, { method: 'POST' })
          : await post('/api/users', raw);
      expectJsonError(res, 400);
      expect(res.body.message).toMatch(message);
    });
  });

  describe('requests Node’s HTTP parser refuses get the same JSON error on both platforms', () => {
    const big = 'x'.repeat(17 * 1024);
    it.each([
      ['a bad request line', 'GET /api/users/1 HTTP/1.1 extra\r\nHost: x\r\n\r\n', 400],
      ['a request line that is not HTTP', 'HELLO\r\n\r\n', 400],
      ['headers over 16 KB', `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${big}\r\n\r\n`, 431],
      ['a URL over 16 KB', `GET /api/users/${big} HTTP/1.1\r\nHost: x\r\n\r\n`, 431],
      ['obs-fold', 'GET /health/live HTTP/1.1\r\nHost: x\r\nX-A: a\r\n  folded\r\n\r\n', 400],
      ['a bare LF', 'GET /health/live HTTP/1.1\nHost: x\n\n', 400],
      [
        'both Content-Length and Transfer-Encoding',
        'POST /api/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        400,
      ],
      [
        'thousands of headers',
        `GET /health/live HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\n\r\n`,
        431,
      ],
      [
        'a NUL in a header value',
        'GET /health/live HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n',
        400,
      ],
    ])('%s → %s JSON', async (_what, raw, status) => {
      const res = await rawRequest(t.url, raw);
      expectJsonError(res, status);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
    });

    it('a malformed percent-encoding in the path → 400 JSON with the request id', async () => {
      const res = await http(`${t.url}/api/users/%E0%A4%A`, {
        headers: { 'x-request-id': 'bad-url-1' },
      });
      expectJsonError(res, 400);
      expect(res.headers.get('x-request-id')).toBe('bad-url-1');
    });

    it.each([2000, 9000])(
      'a route parameter of %s characters is refused as a bad value (400), as on the other platform',
      async (length) => {
        const res = await http(`${t.url}/api/leaderboard/${'a'.repeat(length)}`);
        expectJsonError(res, 400);
        expect(res.text.length).toBeLessThan(1000);
      },
    );
  });

  describe('slow clients are not held forever', () => {
    it('a request whose body stalls gets 408 JSON and its connection is closed', async () => {
      const res: RawResponse = await rawRequest(
        t.url,
        'POST /api/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email":',
        { timeoutMs: 15_000 },
      );
      expect(res.timedOut).toBe(false);
      expectJsonError(res, 408);
      expect(res.closed).toBe(true);
    });

    it('a request whose headers stall is closed (408 JSON where an answer is possible)', async () => {
      const res = await rawRequest(t.url, 'GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: ', {
        timeoutMs: 15_000,
      });
      expect(res.timedOut).toBe(false);
      expect(res.closed).toBe(true);
      expectJsonError(res, 408);
    });

    it('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
      const res = await rawRequest(t.url, 'GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n', {
        timeoutMs: 15_000,
        untilClose: true,
      });
      expect(res.status).toBe(200);
      expect(res.timedOut).toBe(false);
      expect(res.closed).toBe(true);
    });
  });
});
