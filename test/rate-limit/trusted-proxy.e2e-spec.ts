import { createTestApp, http, PLATFORMS, testPrefix } from '../support/app';

/**
 * Behind a proxy that appends the address it saw to `X-Forwarded-For`, a client can put any
 * address in front of it. The client is the right-most address that is not a trusted proxy, so
 * the prepended ones never pick the rate-limit identity.
 */
describe.each(PLATFORMS)('trusted proxies on %s', (platform) => {
  it.each([
    ['TRUST_PROXY=true (one hop)', 'true'],
    ['TRUST_PROXY=1', '1'],
    ['TRUST_PROXY=loopback', 'loopback'],
    ['TRUST_PROXY=127.0.0.0/8', '127.0.0.0/8'],
  ])(
    '%s: a client prepending addresses to X-Forwarded-For keeps one budget',
    async (_what, trust) => {
      const t = await createTestApp({
        platform,
        prefix: testPrefix(__filename),
        env: { RATE_LIMIT: '5/60s', TRUST_PROXY: trust },
      });
      try {
        // What our proxy (the test client, on loopback) forwards: whatever the client sent,
        // then the client's real address.
        const res = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            http(`${t.url}/api/pages/1`, {
              headers: { 'x-forwarded-for': `203.0.113.${i}, 198.51.100.7` },
            }),
          ),
        );
        expect(res.filter((r) => r.status === 200)).toHaveLength(5);
        // Another real client behind the same proxy has a budget of its own.
        const other = await http(`${t.url}/api/pages/1`, {
          headers: { 'x-forwarded-for': '203.0.113.1, 198.51.100.8' },
        });
        expect(other.status).toBe(200);
      } finally {
        await t.close();
      }
    },
  );

  it('two trusted hops: the client is the address before both proxies', async () => {
    const t = await createTestApp({
      platform,
      prefix: testPrefix(__filename),
      env: { RATE_LIMIT: '5/60s', TRUST_PROXY: '2' },
    });
    try {
      const res = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          http(`${t.url}/api/pages/1`, {
            headers: { 'x-forwarded-for': `203.0.113.${i}, 198.51.100.7, 10.0.0.2` },
          }),
        ),
      );
      expect(res.filter((r) => r.status === 200)).toHaveLength(5);
    } finally {
      await t.close();
    }
  });
});
