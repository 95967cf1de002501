import type { HttpPlatform } from '../../src/config';
import { createTestApp, PLATFORMS, TestApp, TestAppOptions, testPrefix } from './app';

/** {@link createTestApp} options of a {@link describeOnPlatforms} suite: the platform is given, the prefix optional. */
export type PlatformAppOptions = Omit<TestAppOptions, 'platform' | 'prefix'> & {
  /** Key prefix; default: one unique to the test file and platform. */
  prefix?: string;
};

type Body = (t: TestApp, platform: HttpPlatform) => void;

/**
 * `describe.each(PLATFORMS)` with the app every such suite starts: for each HTTP platform, a
 * block titled `<title> on <platform>` whose `beforeAll` starts the real app on the shared
 * Redis ({@link createTestApp}, a key prefix unique to the test file) and whose last `afterAll`
 * closes it. `t` reads through to that app: use it in tests and hooks, not while the block is
 * being declared. Suites that stop or kill Redis use `usePrivateRedisApp` instead.
 *
 * @example
 * describeOnPlatforms('HTTP surface', (t) => {
 *   it('serves a seeded user', async () => expect((await http(`${t.url}/api/users/1`)).status).toBe(200));
 * });
 * describeOnPlatforms('rate limiting', { env: { RATE_LIMIT: '50/60s' } }, (t, platform) => { … });
 */
export function describeOnPlatforms(title: string, body: Body): void;
export function describeOnPlatforms(title: string, options: PlatformAppOptions, body: Body): void;
export function describeOnPlatforms(
  title: string,
  optionsOrBody: PlatformAppOptions | Body,
  maybeBody?: Body,
): void {
  const [options, body] =
    typeof optionsOrBody === 'function' ? [{}, optionsOrBody] : [optionsOrBody, maybeBody!];
  const file = expect.getState().testPath;
  if (!file) throw new Error('describeOnPlatforms must be called from a test file');
  describe.each(PLATFORMS)(`${title} on %s`, (platform) => {
    let current: TestApp | undefined;
    beforeAll(async () => {
      current = await createTestApp({
        ...options,
        platform,
        prefix: options.prefix ?? testPrefix(file),
      });
    });
    body(
      readThrough(() => current),
      platform,
    );
    // Registered after the body's hooks, so it runs after their afterAll (which may still use the app).
    afterAll(async () => {
      await current?.close();
    });
  });
}

/** A TestApp whose fields are read from the app started in `beforeAll`. */
function readThrough(get: () => TestApp | undefined): TestApp {
  const app = (): TestApp => {
    const t = get();
    if (!t) throw new Error('the app starts in beforeAll: use it inside tests and hooks');
    return t;
  };
  return {
    get app() {
      return app().app;
    },
    get config() {
      return app().config;
    },
    get url() {
      return app().url;
    },
    close: () => app().close(),
  };
}
