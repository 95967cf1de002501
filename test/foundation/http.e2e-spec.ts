import { http } from '../support/app';
import { describeOnPlatforms } from '../support/platforms';

describeOnPlatforms('HTTP surface', (t) => {
  describe('users', () => {
    it('serves a seeded user', async () => {
      const res = await http(`${t.url}/api/users/1`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ id: 1, email: 'ada@example.com', name: 'Ada Lovelace' });
    });

    it('creates a user with 201 and returns it, then reads it back', async () => {
      const created = await http(`${t.url}/api/users`, {
        method: 'POST',
        body: {
          email: 'New.Person@Example.com',
          name: 'New Person',
          password: 'correct horse battery',
        },
      });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        id: expect.any(Number),
        email: 'new.person@example.com',
        name: 'New Person',
      });
      expect(created.body.id).toBeGreaterThan(3);
      const read = await http(`${t.url}/api/users/${created.body.id}`);
      expect(read.body).toEqual(created.body);
    });

    it('updates a user with PATCH', async () => {
      const res = await http(`${t.url}/api/users/2`, {
        method: 'PATCH',
        body: { name: 'Alan M. Turing' },
      });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ id: 2, email: 'alan@example.com', name: 'Alan M. Turing' });
      expect((await http(`${t.url}/api/users/2`)).body.name).toBe('Alan M. Turing');
    });

    it('answers 404 JSON for a user that does not exist', async () => {
      const res = await http(`${t.url}/api/users/424242`);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({
        statusCode: 404,
        error: 'Not Found',
        message: 'user 424242 not found',
      });
      expect(
        (await http(`${t.url}/api/users/424242`, { method: 'PATCH', body: { name: 'x' } })).status,
      ).toBe(404);
    });

    it('answers 409 for a duplicate email', async () => {
      const res = await http(`${t.url}/api/users`, {
        method: 'POST',
        body: { email: 'grace@example.com', name: 'Copy', password: 'correct horse battery' },
      });
      expect(res.status).toBe(409);
      expect(res.body.message).toMatch(/already exists/);
    });
  });

  describe('posts and pages', () => {
    it('creates a post for an existing user', async () => {
      const res = await http(`${t.url}/api/posts`, {
        method: 'POST',
        body: { userId: 1, title: 'Hello', content: 'World' },
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        id: expect.any(Number),
        userId: 1,
        title: 'Hello',
        content: 'World',
      });
      expect(new Date(res.body.createdAt).getTime()).not.toBeNaN();
    });

    it('answers 422 for a post whose user does not exist', async () => {
      const res = await http(`${t.url}/api/posts`, {
        method: 'POST',
        body: { userId: 9999, title: 'x', content: 'y' },
      });
      expect(res.status).toBe(422);
      expect(res.body.message).toBe('userId 9999 does not exist');
    });

    it('serves a seeded page', async () => {
      const res = await http(`${t.url}/api/pages/1`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: 1, slug: 'home', title: 'Home', views: 1 }); // this view, counted live
    });
  });

  describe('bad input gets a 4xx JSON error, never a 500', () => {
    it.each(['abc', '0', '-1', '1.5', '1e3', '0x10', '99999999999', '%20'])(
      'GET /api/users/%s → 400',
      async (id) => {
        const res = await http(`${t.url}/api/users/${id}`);
        expect(res.status).toBe(400);
        expect(res.headers.get('content-type')).toMatch(/application\/json/);
        expect(res.body.message).toMatch(/id must be a positive integer/);
      },
    );

    it('malformed JSON → 400 with a clear message', async () => {
      const res = await http(`${t.url}/api/users`, {
        method: 'POST',
        raw: '{"email": ',
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        statusCode: 400,
        message: expect.stringMatching(/Malformed JSON/),
      });
    });

    it('a body over the limit → 413 JSON', async () => {
      const res = await http(`${t.url}/api/users`, {
        method: 'POST',
        body: {
          email: 'big@example.com',
          name: 'x'.repeat(200 * 1024),
          password: 'correct horse battery',
        },
      });
      expect(res.status).toBe(413);
      expect(res.body).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
    });

    it.each([
      [
        'a wrong type',
        { email: 'ok@example.com', name: 42, password: 'correct horse battery' },
        /name must be a string/,
      ],
      [
        'an invalid email',
        { email: 'not-an-email', name: 'A', password: 'correct horse battery' },
        /email must be a valid e-mail address/,
      ],
      [
        'an unknown property',
        { email: 'ok2@example.com', name: 'A', admin: true, password: 'correct horse battery' },
        /property admin should not exist/,
      ],
      ['an empty object', {}, /email is required/],
      ['an array', [], /must be a JSON object, not an array/],
    ])('POST /api/users with %s → 400', async (_what, body, message) => {
      const res = await http(`${t.url}/api/users`, { method: 'POST', body });
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body.message)).toMatch(message);
    });

    it('POST /api/posts with a string userId → 400', async () => {
      const res = await http(`${t.url}/api/posts`, {
        method: 'POST',
        body: { userId: '1', title: 't', content: 'c' },
      });
      expect(res.status).toBe(400);
      expect(res.body.message).toEqual(['userId must be a positive integer (1-2147483647)']);
    });

    it('PATCH with no field → 400', async () => {
      const res = await http(`${t.url}/api/users/1`, { method: 'PATCH', body: {} });
      expect(res.status).toBe(400);
      expect(res.body.message).toBe('provide at least one of: email, name');
    });

    it('an unknown route → 404 JSON', async () => {
      const res = await http(`${t.url}/api/nothing-here`);
      expect(res.status).toBe(404);
      expect(res.body.statusCode).toBe(404);
    });
  });

  describe('operations', () => {
    it('GET /health/live → 200', async () => {
      expect((await http(`${t.url}/health/live`)).body).toEqual({ status: 'ok' });
    });

    it('GET /health/ready → 200 with Redis roles and the database up', async () => {
      const res = await http(`${t.url}/health/ready`);
      expect(res.status).toBe(200);
      expect(res.body.details).toMatchObject({
        redis_state: { status: 'up' },
        redis_cache: { status: 'up' },
        database: { status: 'up' },
      });
    });

    it('GET /metrics exposes default metrics and the HTTP histogram labelled by route template', async () => {
      await http(`${t.url}/api/users/3`);
      const res = await http(`${t.url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/plain/);
      expect(res.text).toContain('process_cpu_user_seconds_total');
      expect(res.text).toMatch(
        /http_request_duration_seconds_count\{method="GET",route="\/api\/users\/:id",status_code="200"\} \d+/,
      );
      expect(res.text).not.toContain('route="/api/users/3"');
    });

    it('GET /docs serves the OpenAPI UI and /docs/json the document with the domain routes', async () => {
      expect((await http(`${t.url}/docs`)).status).toBe(200);
      const doc = await http(`${t.url}/docs/json`);
      expect(doc.status).toBe(200);
      expect(Object.keys(doc.body.paths)).toEqual(
        expect.arrayContaining([
          '/api/users',
          '/api/users/{id}',
          '/api/posts',
          '/api/pages/{id}',
          '/health/ready',
        ]),
      );
    });

    it('echoes a sane X-Request-Id and makes one when absent or unsafe', async () => {
      expect(
        (
          await http(`${t.url}/health/live`, { headers: { 'x-request-id': 'abc-123' } })
        ).headers.get('x-request-id'),
      ).toBe('abc-123');
      const made = (
        await http(`${t.url}/health/live`, { headers: { 'x-request-id': 'bad id\twith spaces' } })
      ).headers.get('x-request-id');
      expect(made).toMatch(/^[0-9a-f-]{36}$/);
    });
  });
});
