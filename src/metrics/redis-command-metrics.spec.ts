import diagnostics from 'node:diagnostics_channel';
import { createHash } from 'node:crypto';
import { registerScriptName, withRedisCommandScope, RedisCommandScope } from '../redis';
import { MetricsService } from './metrics.service';
import { RedisCommandMetrics } from './redis-command-metrics';
import { redisRequestCost, RedisRequestCost } from './redis-request-cost';

const channel = diagnostics.tracingChannel('ioredis:command');

/** Publishes one command's trace as ioredis does (start inside the write, then the reply). */
function trace(command: string, args: string[], outcome: Error | 'ok' = 'ok'): Promise<unknown> {
  const ctx = { command, args, database: 0, serverAddress: '127.0.0.1', serverPort: 6379 };
  const p = channel.tracePromise(
    () => (outcome === 'ok' ? Promise.resolve('OK') : Promise.reject(outcome)),
    ctx,
  );
  return p.catch(() => undefined);
}

function sample(text: string, line: string): number {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? NaN : Number(found.slice(line.length + 1));
}

describe('RedisCommandMetrics (labels from the command scope of the writing client)', () => {
  let metrics: MetricsService;
  let m: RedisCommandMetrics;
  const cache: RedisCommandScope = { role: 'cache' };
  const lua = 'return redis.call("GET", KEYS[1]) -- unit spec';
  const sha = createHash('sha1').update(lua).digest('hex');

  beforeAll(() => registerScriptName('specRead', lua));
  beforeEach(() => {
    metrics = MetricsService.standalone();
    m = new RedisCommandMetrics(metrics, {});
    m.onModuleInit();
    cache.observer = m;
  });
  afterEach(() => m.onApplicationShutdown());

  it('labels a scoped command with its role and lower-case name, never its arguments', async () => {
    await withRedisCommandScope(cache, () => trace('GET', ['users:secret-key']));
    const text = await metrics.registry.metrics();
    expect(sample(text, 'redis_command_duration_seconds_count{role="cache",command="get"}')).toBe(
      1,
    );
    expect(text).not.toContain('secret-key');
  });

  it('names a registered script from its EVALSHA SHA1 and its EVAL source; unknown SHA1s stay plain', async () => {
    await withRedisCommandScope(cache, () => trace('evalsha', [sha, '1', 'k']));
    await withRedisCommandScope(cache, () => trace('eval', [lua, '1', 'k']));
    await withRedisCommandScope(cache, () => trace('evalsha', ['0'.repeat(40), '0']));
    const text = await metrics.registry.metrics();
    expect(
      sample(
        text,
        'redis_command_duration_seconds_count{role="cache",command="evalsha",script="specRead"}',
      ),
    ).toBe(1);
    expect(
      sample(
        text,
        'redis_command_duration_seconds_count{role="cache",command="eval",script="specRead"}',
      ),
    ).toBe(1);
    expect(
      sample(text, 'redis_command_duration_seconds_count{role="cache",command="evalsha"}'),
    ).toBe(1);
  });

  it('counts error replies but not NOSCRIPT (ioredis then sends EVAL), and refused commands', async () => {
    await withRedisCommandScope(cache, () => trace('incr', ['k'], new Error('WRONGTYPE')));
    await withRedisCommandScope(cache, () =>
      trace('evalsha', [sha, '1', 'k'], new Error('NOSCRIPT No matching script')),
    );
    m.refused(cache, 'get');
    const text = await metrics.registry.metrics();
    expect(sample(text, 'redis_command_errors_total{role="cache",command="incr"}')).toBe(1);
    expect(sample(text, 'redis_command_errors_total{role="cache",command="get"}')).toBe(1);
    expect(
      sample(text, 'redis_command_errors_total{role="cache",command="evalsha",script="specRead"}'),
    ).toBe(0);
  });

  it('counts a command written outside any scope as role "other"; one of an app that does not measure, nowhere', async () => {
    await trace('cluster', ['slots']);
    await withRedisCommandScope({ role: 'state' }, () => trace('get', ['k']));
    const text = await metrics.registry.metrics();
    expect(
      sample(text, 'redis_command_duration_seconds_count{role="other",command="cluster"}'),
    ).toBe(1);
    expect(text).not.toContain('role="state"');
  });

  it('adds each command to the request cost found at its write (redisRequestCost on), and stops when shut down', async () => {
    m.onApplicationShutdown();
    m = new RedisCommandMetrics(MetricsService.standalone(), { redisRequestCost: true });
    m.onModuleInit();
    cache.observer = m;
    expect(m.requestCost).toBe(true);
    const cost: RedisRequestCost = { commands: 0, ms: 0 };
    await redisRequestCost.run(cost, () => withRedisCommandScope(cache, () => trace('get', ['k'])));
    expect(cost.commands).toBe(1);
    expect(cost.ms).toBeGreaterThanOrEqual(0);
    m.onApplicationShutdown();
    expect(channel.hasSubscribers).toBe(false);
    await redisRequestCost.run(cost, () => withRedisCommandScope(cache, () => trace('get', ['k'])));
    expect(cost.commands).toBe(1);
  });

  it('leaves the request cost alone by default (redisRequestCost off) while still timing the command', async () => {
    expect(m.requestCost).toBe(false);
    const cost: RedisRequestCost = { commands: 0, ms: 0 };
    await redisRequestCost.run(cost, () => withRedisCommandScope(cache, () => trace('get', ['k'])));
    expect(cost.commands).toBe(0);
    expect(
      sample(
        await metrics.registry.metrics(),
        'redis_command_duration_seconds_count{role="cache",command="get"}',
      ),
    ).toBe(1);
    // Without the metrics there is no request cost either, whatever redisRequestCost says.
    expect(
      new RedisCommandMetrics(MetricsService.standalone(), {
        redisCommands: false,
        redisRequestCost: true,
      }).requestCost,
    ).toBe(false);
  });

  it('subscribes once per process: two apps do not count each other’s scoped commands twice', async () => {
    const other = MetricsService.standalone();
    const m2 = new RedisCommandMetrics(other, {});
    m2.onModuleInit();
    try {
      await withRedisCommandScope(cache, () => trace('get', ['k']));
      expect(
        sample(
          await metrics.registry.metrics(),
          'redis_command_duration_seconds_count{role="cache",command="get"}',
        ),
      ).toBe(1);
      expect(await other.registry.metrics()).not.toContain('role="cache"');
    } finally {
      m2.onApplicationShutdown();
    }
  });
});
