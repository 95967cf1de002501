import { eventually, http, PLATFORMS } from '../support/app';
import { credentialHeaders, issueTokens, SEEDED_USERS } from '../support/credentials';
import { usePrivateRedisApp } from '../support/private-redis';

/**
 * The feed's failure policy on a private Redis that is stopped and started again: recording
 * fails open (the post is created), reading answers 503 JSON, the fan-out consumer (this app
 * runs the `all` role) resumes by itself, recreating its group on a Redis that lost it.
 */
jest.setTimeout(120_000);

const { alan, grace } = SEEDED_USERS;

describe.each(PLATFORMS)('feed with Redis stopped, on %s', (platform) => {
  const fixture = usePrivateRedisApp(__filename, platform);

  const post = (title: string) =>
    http(`${fixture.app().url}/api/posts`, {
      method: 'POST',
      body: { userId: alan.id, title, content: '…' },
    });
  const follow = () =>
    http(`${fixture.app().url}/api/users/${alan.id}/followers`, {
      method: 'POST',
      body: { followerId: grace.id },
    });

  it('creates posts while the feed cannot record them, answers 503 for the feed, and fans out again after a restart', async () => {
    const t = fixture.app();
    expect((await follow()).status).toBe(201);
    const headers = credentialHeaders('bearer', await issueTokens(t.url, grace.email));
    await fixture.redis().stop();

    const created = await post('while Redis is down');
    expect(created.status).toBe(201); // the post is in the database: the activity is lost, not the post
    const feed = await http(`${t.url}/api/feed`, { headers });
    expect(feed.status).toBe(503);
    expect(feed.body).toMatchObject({ statusCode: 503, message: expect.any(String) });
    expect((await http(`${t.url}/metrics`)).text).toMatch(/^feed_record_failures_total [1-9]/m);

    await fixture.redis().restart();
    // The restarted server may have lost everything (no AOF here): follow again, new credentials.
    await eventually(follow, (r) => r.status === 201);
    const again = credentialHeaders('bearer', await issueTokens(t.url, grace.email));
    const after = await post('after the restart');
    expect(after.status).toBe(201);
    const graceFeed = await eventually(
      () => http(`${t.url}/api/feed`, { headers: again }),
      (r) =>
        r.status === 200 &&
        r.body.entries.some(
          (e: { action: string; targetId: number }) =>
            e.action === 'post.created' && e.targetId === after.body.id,
        ),
      30_000,
    );
    expect(graceFeed.body.entries).toContainEqual(
      expect.objectContaining({
        action: 'post.created',
        actorId: alan.id,
        targetId: after.body.id,
      }),
    );
    expect(graceFeed.body.entries).not.toContainEqual(
      expect.objectContaining({ targetId: created.body.id, action: 'post.created' }),
    );
  });
});
