import { eventually, http } from '../support/app';
import { describeOnPlatforms } from '../support/platforms';
import { usePrivateRedisApp } from '../support/private-redis';

describeOnPlatforms('leaderboard and followers', (t, platform) => {
  const board = `b-${platform}`;

  const post = (path: string, body: unknown) => http(`${t.url}${path}`, { method: 'POST', body });

  describe('leaderboard', () => {
    it('sets and increments scores and ranks highest first', async () => {
      expect(
        (await post(`/api/leaderboard/${board}/scores`, { member: 'ada', score: 10 })).body,
      ).toEqual({ rank: 1, member: 'ada', score: 10 });
      await post(`/api/leaderboard/${board}/scores`, { member: 'bob', score: 30 });
      await post(`/api/leaderboard/${board}/scores`, { member: 'cy', score: 20.5 });
      expect(
        (await post(`/api/leaderboard/${board}/increments`, { member: 'ada', score: 25 })).body,
      ).toEqual({ rank: 1, member: 'ada', score: 35 });
      const top = await http(`${t.url}/api/leaderboard/${board}?top=2`);
      expect(top.body).toEqual({
        board,
        entries: [
          { rank: 1, member: 'ada', score: 35 },
          { rank: 2, member: 'bob', score: 30 },
        ],
      });
      expect((await http(`${t.url}/api/leaderboard/${board}/members/cy`)).body).toEqual({
        board,
        rank: 3,
        member: 'cy',
        score: 20.5,
      });
    });

    it('increments concurrently without losing any (ZINCRBY is atomic)', async () => {
      await Promise.all(
        Array.from({ length: 200 }, () =>
          post(`/api/leaderboard/${board}-c/increments`, { member: 'x', score: 1 }),
        ),
      );
      expect((await http(`${t.url}/api/leaderboard/${board}-c/members/x`)).body.score).toBe(200);
    });

    it('404 for a member not on the board; an unknown board is empty', async () => {
      const res = await http(`${t.url}/api/leaderboard/${board}/members/nobody`);
      expect(res.status).toBe(404);
      expect(res.body.message).toBe(`member nobody is not on board ${board}`);
      expect((await http(`${t.url}/api/leaderboard/empty-board`)).body).toEqual({
        board: 'empty-board',
        entries: [],
      });
    });

    it.each([
      [
        'an unknown character in the board name',
        '/api/leaderboard/Bad!Board/scores',
        { member: 'a', score: 1 },
        /board must be/,
      ],
      [
        'a board name that is too long',
        `/api/leaderboard/${'b'.repeat(33)}/scores`,
        { member: 'a', score: 1 },
        /board must be/,
      ],
      [
        'a non-numeric score',
        `/api/leaderboard/${board}/scores`,
        { member: 'a', score: 'ten' },
        /score must be a finite number/,
      ],
      ['a missing member', `/api/leaderboard/${board}/scores`, { score: 1 }, /member is required/],
      [
        'a member with spaces',
        `/api/leaderboard/${board}/increments`,
        { member: 'a b', score: 1 },
        /member must be/,
      ],
      [
        'a huge score',
        `/api/leaderboard/${board}/scores`,
        { member: 'a', score: 1e300 },
        /score must be between/,
      ],
    ])('rejects %s with 400 JSON', async (_what, path, body, message) => {
      const res = await post(path, body);
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body.message)).toMatch(message);
    });

    it.each(['0', '101', 'ten', '-1', '1.5'])('rejects top=%s with 400', async (top) => {
      expect((await http(`${t.url}/api/leaderboard/${board}?top=${top}`)).status).toBe(400);
    });
  });

  describe('followers', () => {
    it('follows, lists, checks, intersects and unfollows', async () => {
      expect((await post('/api/users/1/followers', { followerId: 2 })).status).toBe(201);
      expect((await post('/api/users/1/followers', { followerId: 3 })).status).toBe(201);
      expect((await post('/api/users/1/followers', { followerId: 3 })).status).toBe(201); // idempotent
      expect((await post('/api/users/2/followers', { followerId: 3 })).status).toBe(201);
      expect((await http(`${t.url}/api/users/1/followers`)).body).toEqual({
        userId: 1,
        followers: [2, 3],
      });
      expect((await http(`${t.url}/api/users/1/followers/2`)).body).toEqual({ following: true });
      expect((await http(`${t.url}/api/users/2/followers/1`)).body).toEqual({ following: false });
      expect((await http(`${t.url}/api/users/1/mutuals/2`)).body).toEqual({
        userId: 1,
        otherId: 2,
        mutuals: [3],
      });
      expect((await http(`${t.url}/api/users/1/followers/2`, { method: 'DELETE' })).status).toBe(
        204,
      );
      expect((await http(`${t.url}/api/users/1/followers`)).body.followers).toEqual([3]);
    });

    it.each([
      ['a self-follow', '/api/users/1/followers', { followerId: 1 }, 400],
      ['a string followerId', '/api/users/1/followers', { followerId: '2' }, 400],
      ['a missing followerId', '/api/users/1/followers', {}, 400],
      ['an unknown follower', '/api/users/1/followers', { followerId: 4242 }, 422],
      ['an unknown user', '/api/users/4242/followers', { followerId: 1 }, 404],
    ])('rejects %s', async (_what, path, body, status) => {
      const res = await post(path, body);
      expect(res.status).toBe(status);
      expect(res.body.statusCode).toBe(status);
    });

    it('400 for malformed ids, 404 for unknown users in reads', async () => {
      expect((await http(`${t.url}/api/users/abc/followers`)).status).toBe(400);
      expect((await http(`${t.url}/api/users/1/followers/x`)).status).toBe(400);
      expect((await http(`${t.url}/api/users/1/mutuals/4242`)).status).toBe(404);
    });
  });
});

describe('Redis-backed domains with Redis stopped', () => {
  const fixture = usePrivateRedisApp(__filename, 'express');

  it('answer 503 JSON, not 500, and recover', async () => {
    const t = fixture.app();
    await fixture.redis().stop();
    for (const path of ['/api/leaderboard/main', '/api/users/1/followers']) {
      const res = await http(`${t.url}${path}`);
      expect(res.status).toBe(503);
      expect(res.body).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'Redis is unavailable; retry shortly',
      });
    }
    await fixture.redis().restart();
    const back = await eventually(
      () => http(`${t.url}/api/leaderboard/main`),
      (r) => r.status === 200,
    );
    expect(back.status).toBe(200);
  });
});
