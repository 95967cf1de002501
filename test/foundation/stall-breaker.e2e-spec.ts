import { tracingChannel } from 'node:diagnostics_channel';
import {
  closeRedisClient,
  createRedisClient,
  RedisClient,
  resolveConnection,
  StallBreaker,
} from '../../src/redis';
import { startRedisServer, TestRedis } from '../support/redis';

/**
 * The stall breaker at the client level, on a private frozen redis-server (SIGSTOP): the
 * command that times out opens it before anyone awaiting that command runs on, so a caller
 * that reacts to the timeout with another command (fail open, then the next step) gets a fast
 * refusal, not a second timeout; and with auto-pipelining, a command waiting behind the
 * in-flight pipeline (no timer of its own until it is written) is refused when that pipeline
 * times out rather than written to wait its own timeout. Each case with and without
 * auto-pipelining and a subscriber on ioredis's `ioredis:command` tracing channel (the command
 * metrics: `sendCommand` then returns a traced wrapper promise that settles later).
 */
const COMMAND_TIMEOUT_MS = 300;

/** Runs the test's Lua script (EVALSHA, as every script of the app runs). */
function script(client: RedisClient, key: string): Promise<unknown> {
  return (client as unknown as { stallTestScript(k: string): Promise<unknown> }).stallTestScript(
    key,
  );
}

describe('stall breaker on a frozen Redis', () => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    redis?.thaw();
    await redis?.close();
  });

  describe.each([
    { autoPipelining: true, traced: true },
    { autoPipelining: true, traced: false },
    { autoPipelining: false, traced: true },
    { autoPipelining: false, traced: false },
  ])(
    'auto-pipelining $autoPipelining, tracing subscriber $traced',
    ({ autoPipelining, traced }) => {
      let client: RedisClient;
      let breaker: StallBreaker;
      const subscriber = { start() {}, end() {}, asyncStart() {}, asyncEnd() {}, error() {} };

      beforeEach(async () => {
        if (traced) tracingChannel('ioredis:command').subscribe(subscriber);
        breaker = new StallBreaker('test');
        client = createRedisClient(
          resolveConnection({
            topology: { mode: 'standalone', url: redis.url },
            commandTimeoutMs: COMMAND_TIMEOUT_MS,
            autoPipelining,
          }),
          { name: 'stall-breaker-test', breaker },
        );
        client.defineCommand('stallTestScript', { numberOfKeys: 1, lua: 'return 1' });
        expect(await client.ping()).toBe('PONG');
        expect(await script(client, 'warm')).toBe(1); // the server knows the script: EVALSHA
      });
      afterEach(async () => {
        redis.thaw();
        if (traced) tracingChannel('ioredis:command').unsubscribe(subscriber);
        await closeRedisClient(client);
      });

      it('a command sent in reaction to a timeout is refused at once, not timed out again', async () => {
        redis.freeze();
        const followUp = await client.get('first').then(
          () => new Error('the first command was answered by a frozen server'),
          (first: Error) => {
            expect(first.message).toBe('Command timed out');
            // The caller's next step, in the same continuation as the rejection.
            return client.get('second').then(
              () => new Error('the second command was answered by a frozen server'),
              (second: Error) => second,
            );
          },
        );
        expect(followUp.name).toBe('RedisUnavailableError');
        expect(followUp.message).toMatch(/not answering/);
        expect(breaker.isOpen).toBe(true);
      });

      it('a script run in reaction to a timed-out script is refused at once, not timed out again', async () => {
        redis.freeze();
        const followUp = await script(client, 'first').then(
          () => new Error('the first script was answered by a frozen server'),
          (first: Error) => {
            expect(first.message).toBe('Command timed out');
            return script(client, 'second').then(
              () => new Error('the second script was answered by a frozen server'),
              (second: Error) => second,
            );
          },
        );
        expect(followUp.name).toBe('RedisUnavailableError');
        expect(breaker.isOpen).toBe(true);
      });

      if (autoPipelining)
        it('a command queued behind a timed-out auto-pipeline is refused at once, not sent to wait a second timeout', async () => {
          redis.freeze();
          const first = client.get('first'); // its pipeline is written on the next turn
          await new Promise((r) => setImmediate(r));
          await new Promise((r) => setImmediate(r));
          // One auto-pipeline per connection is in flight at a time: this one waits behind the
          // first, with no timer of its own until it is written. It is written the moment the
          // first one fails, synchronously, before anyone awaiting the first runs on.
          const second = client.get('second');
          const [a, b] = await Promise.allSettled([first, second]);
          expect(a.status === 'rejected' && (a.reason as Error).message).toBe('Command timed out');
          expect(b.status === 'rejected' && (b.reason as Error).name).toBe('RedisUnavailableError');
        });

      it('closes again once the server answers (a late reply counts as an answer)', async () => {
        redis.freeze();
        await expect(client.get('k')).rejects.toThrow('Command timed out');
        expect(breaker.isOpen).toBe(true);
        redis.thaw();
        // The frozen server answers the timed-out GET and the breaker's probes.
        for (let i = 0; i < 100 && breaker.isOpen; i++) await new Promise((r) => setTimeout(r, 20));
        expect(breaker.isOpen).toBe(false);
        expect(await client.set('k', 'v')).toBe('OK');
      });
    },
  );
});
