import { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisClient } from '../redis';
import { getRedisToken, RedisModule, RedisServerProcess } from '../redis';
import { currentLock } from './lock.context';
import { LockLostError, LockNotAcquiredError, LockUnavailableError } from './lock.errors';
import { LockModule } from './lock.module';
import { LockService } from './lock.service';
import { findOnPath } from '../config';

/** The redis-server on this process's PATH. */
const REDIS_SERVER_BINARY = findOnPath('redis-server', process.env.PATH ?? '');

/**
 * LockService against a real redis-server started here (a random port, no persistence): the
 * lock module as another Nest app would import it, with nothing but RedisModule beside it.
 */
class LockFixture {
  private constructor(
    private readonly server: RedisServerProcess,
    private readonly dir: string,
    private readonly app: INestApplicationContext,
    readonly locks: LockService,
    readonly redis: RedisClient,
  ) {}

  static async start(): Promise<LockFixture> {
    const dir = mkdtempSync(join(tmpdir(), 'nrp-lock-spec-'));
    const server = await new RedisServerProcess({
      binary: REDIS_SERVER_BINARY,
      dir,
      appendonly: false,
    }).start();
    const moduleRef = await Test.createTestingModule({
      imports: [
        RedisModule.forRoot({
          prefix: 'lock-spec',
          state: { topology: { mode: 'standalone', url: server.url }, commandTimeoutMs: 500 },
        }),
        LockModule.forRoot({ defaultTtlMs: 5_000 }),
      ],
    }).compile();
    const app = await moduleRef.init();
    return new LockFixture(
      server,
      dir,
      app,
      app.get(LockService),
      app.get<RedisClient>(getRedisToken('state')),
    );
  }

  stopServer(): Promise<void> {
    return this.server.stop();
  }

  /** Redis's clock in microseconds (the floor of every fencing token issued from now on). */
  async redisMicros(): Promise<number> {
    const [s, us] = await this.redis.time();
    return Number(s) * 1_000_000 + Number(us);
  }

  /** Script calls the server has run since the last `CONFIG RESETSTAT` (EVALSHA, or EVAL after NOSCRIPT). */
  async scriptCalls(): Promise<number> {
    const info = await this.redis.info('commandstats');
    return [...info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
  }

  async close(): Promise<void> {
    await this.app.close();
    await this.server.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const aborted = (signal: AbortSignal): Promise<unknown> =>
  signal.aborted
    ? Promise.resolve(signal.reason)
    : new Promise((resolve) =>
        signal.addEventListener('abort', () => resolve(signal.reason), { once: true }),
      );

describe('LockService', () => {
  let f: LockFixture;
  let locks: LockService;
  let redis: RedisClient;

  beforeAll(async () => {
    f = await LockFixture.start();
    ({ locks, redis } = f);
  });
  afterAll(async () => {
    await f?.close();
  });

  it('grants a resource to one holder at a time, and a release frees only its own lock', async () => {
    const first = await locks.acquire('owner');
    await expect(locks.acquire('owner')).rejects.toBeInstanceOf(LockNotAcquiredError);

    // The first lease ends (as on expiry) and a second holder takes the resource.
    await redis.del(locks.lockKey('owner'));
    const second = await locks.acquire('owner');

    // The first holder's late release must not free the second holder's lock.
    expect(await first.release()).toBe(false);
    expect(await redis.get(locks.lockKey('owner'))).toBe(second.token);
    await expect(locks.acquire('owner')).rejects.toBeInstanceOf(LockNotAcquiredError);

    expect(await second.release()).toBe(true);
    expect(await second.release()).toBe(false); // once only
    await (await locks.acquire('owner')).release();
  });

  it('issues fencing tokens that grow and stay above the Redis clock, even after the last token is lost', async () => {
    const floor = await f.redisMicros();
    const t1 = await locks.acquire('fence');
    await t1.release();
    const t2 = await locks.acquire('fence');
    await t2.release();
    expect(t1.fencingToken).toBeGreaterThanOrEqual(floor);
    expect(t2.fencingToken).toBeGreaterThan(t1.fencingToken);

    // Redis forgets the last token (restart without persistence, FLUSHALL, a lossy failover).
    await redis.del(locks.fenceKey('fence'));
    const t3 = await locks.acquire('fence');
    await t3.release();
    expect(t3.fencingToken).toBeGreaterThan(t2.fencingToken);

    // A remembered token ahead of the clock still grows by one.
    const ahead = t3.fencingToken + 1_000_000_000;
    await redis.set(locks.fenceKey('fence'), String(ahead), 'PX', 60_000);
    const t4 = await locks.acquire('fence');
    await t4.release();
    expect(t4.fencingToken).toBe(ahead + 1);
  });

  it('extends a lease for its owner only; an extension that finds another owner fires the signal', async () => {
    const handle = await locks.acquire('extend', { ttl: 1_000 });
    await handle.extend(30_000);
    expect(await redis.pttl(locks.lockKey('extend'))).toBeGreaterThan(1_000);

    await redis.set(locks.lockKey('extend'), 'another-holder', 'PX', 30_000);
    await expect(handle.extend()).rejects.toBeInstanceOf(LockLostError);
    expect(handle.lost).toBe(true);
    expect(handle.signal.reason).toBeInstanceOf(LockLostError);
    expect(await handle.release()).toBe(false);
    expect(await redis.get(locks.lockKey('extend'))).toBe('another-holder');
    await redis.del(locks.lockKey('extend'));
  });

  it('runs its scripts again after Redis has forgotten them (restart, SCRIPT FLUSH)', async () => {
    await (await locks.acquire('flushed')).release();
    await redis.script('FLUSH');
    const handle = await locks.acquire('flushed', { ttl: 1_000 });
    await handle.extend(30_000);
    expect(await redis.pttl(locks.lockKey('flushed'))).toBeGreaterThan(1_000);
    await redis.script('FLUSH');
    expect(await handle.release()).toBe(true);
    expect(await redis.exists(locks.lockKey('flushed'))).toBe(0);
  });

  it('fires the signal when the lease runs out before an extension gets through', async () => {
    const handle = await locks.acquire('lease', { ttl: 150 }); // never extended
    const reason = await aborted(handle.signal);
    expect(reason).toBeInstanceOf(LockLostError);
    expect((reason as Error).message).toMatch(/lease ran out/);
    expect(handle.lost).toBe(true);
  });

  it('using: runs fn with the signal and fencing token in scope, and releases the lock when fn throws', async () => {
    let seen: { fence: number; scope?: number; aborted: boolean } | undefined;
    await expect(
      locks.using('using', {}, (signal, fence) => {
        seen = { fence, scope: currentLock()?.fencingToken, aborted: signal.aborted };
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(seen).toEqual({ fence: expect.any(Number), scope: seen?.fence, aborted: false });
    expect(await redis.exists(locks.lockKey('using'))).toBe(0);
    await (await locks.acquire('using')).release();
  });

  it('using: ends with LockLostError as soon as the lease is taken over, instead of waiting for fn', async () => {
    let signal: AbortSignal | undefined;
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const run = locks.using('takeover', { ttl: 300 }, (s) => {
      signal = s;
      holding();
      return new Promise<never>(() => undefined); // a holder that never finishes by itself
    });
    await held;
    await redis.set(locks.lockKey('takeover'), 'another-holder', 'PX', 30_000);
    await expect(run).rejects.toBeInstanceOf(LockLostError);
    expect(signal?.aborted).toBe(true);
    expect(await redis.get(locks.lockKey('takeover'))).toBe('another-holder');
    await redis.del(locks.lockKey('takeover'));
  });

  it('wait: retries a bounded number of times while the lock is held, then LockNotAcquiredError', async () => {
    const holder = await locks.acquire('busy');
    await redis.config('RESETSTAT');
    await expect(
      locks.acquire('busy', { wait: 500, retryDelay: 50, jitter: 0 }),
    ).rejects.toBeInstanceOf(LockNotAcquiredError);
    const attempts = await f.scriptCalls();
    expect(attempts).toBeGreaterThanOrEqual(2); // it did retry …
    expect(attempts).toBeLessThanOrEqual(500 / 50 + 1); // … but never more than wait / retryDelay + 1
    await holder.release();
  });

  it('wait: gets the lock once the holder releases it', async () => {
    const holder = await locks.acquire('handover');
    setTimeout(() => void holder.release(), 100);
    const next = await locks.acquire('handover', { wait: 10_000, retryDelay: 20 });
    expect(next.fencingToken).toBeGreaterThan(holder.fencingToken);
    await next.release();
  });
});

describe('LockService with its Redis stopped', () => {
  let f: LockFixture;
  beforeAll(async () => {
    f = await LockFixture.start();
  });
  afterAll(async () => {
    await f?.close();
  });

  it('fails closed: an acquisition is refused with LockUnavailableError', async () => {
    await (await f.locks.acquire('down')).release();
    await f.stopServer();
    await expect(f.locks.acquire('down')).rejects.toBeInstanceOf(LockUnavailableError);
    await expect(f.locks.using('down', {}, () => 'ran')).rejects.toBeInstanceOf(
      LockUnavailableError,
    );
  });
});
