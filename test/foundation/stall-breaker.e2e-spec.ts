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
 * refusal, not a second timeout; and with `autoPipelining` (on a standalone client: writes
 * batched per event-loop turn, see WriteBatching in src/redis/redis.connection.ts), a command
 * sent while an earlier one waits is written with its own timer, not held back to wait a second
 * timeout after the first. Each case with and without `autoPipelining` and a subscriber on ioredis's `ioredis:command` tracing channel (the command
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
        // The warm-up runs against a healthy server, but with the cases' 300 ms command timeout:
        // on a loaded CI machine it can time out once (and open the breaker). That is not what
        // these cases test, so a failed warm-up starts over with a new client and breaker.
        for (let attempt = 1; ; attempt++) {
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
          try {
            expect(await client.ping()).toBe('PONG');
            expect(await script(client, 'warm')).toBe(1); // the server knows the script: EVALSHA
            expect(breaker.isOpen).toBe(false);
            break;
          } catch (err) {
            await closeRedisClient(client);
            if (attempt >= 5) throw err;
          }
        }
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
        it('batched writes: a command sent while an earlier one waits on the frozen server is written with it and times out with it, not after it', async () => {
          redis.freeze();
          const failedAt = (p: Promise<unknown>) =>
            p.then(
              () => ({ error: undefined as Error | undefined, at: Date.now() }),
              (error: Error) => ({ error, at: Date.now() }),
            );
          const first = failedAt(client.get('first')); // written at the end of this turn
          await new Promise((r) => setImmediate(r));
          await new Promise((r) => setImmediate(r));
          // A standalone client batches its writes per event-loop turn (no ioredis
          // auto-pipeline to queue behind): this one is written at once, with a timer of its own.
          const second = failedAt(client.get('second'));
          const [a, b] = await Promise.all([first, second]);
          expect(a.error?.message).toBe('Command timed out');
          expect(b.error?.message).toBe('Command timed out');
          // Queued behind the first, it would have been written when the first timed out and
          // failed a whole timeout later.
          expect(b.at - a.at).toBeLessThan(COMMAND_TIMEOUT_MS / 2);
        });

      it('closes again once the server answers (a late reply counts as an answer)', async () => {
        redis.freeze();
        await expect(client.get('k')).rejects.toThrow('Command timed out');
        expect(breaker.isOpen).toBe(true);
        redis.thaw();
        // The frozen server answers the timed-out GET and the breaker's probes.
        for (let i = 0; i < 100 && breaker.isOpen; i++) await new Promise((r) => setTimeout(r, 20));
        expect(breaker.isOpen).toBe(false);
        // Commands flow again. On a loaded machine (a CI run of two suites at a time) one
        // 300 ms command timeout can pass before a reply is read: try a few times.
        let reply: unknown;
        // (A timeout opens the breaker again until its next probe is answered: wait for that.)
        for (let i = 0; i < 5 && reply !== 'OK'; i++) {
          if (i > 0) await new Promise((r) => setTimeout(r, 200));
          reply = await client.set('k', 'v').catch((err: Error) => err.message);
        }
        expect(reply).toBe('OK');
      });
    },
  );
});
