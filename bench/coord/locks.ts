/**
 * Lock benchmarks, run in the benchmark process itself (no HTTP): our LockService (in a Nest
 * application context with the project's Config, Redis, Metrics, Http and Lock modules) and
 * redlock 5 with its own ioredis client, both on the same private redis-server.
 * Every loop is bounded by a deadline and by a maximum count.
 */
import 'reflect-metadata';
import { INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { performance } from 'node:perf_hooks';
import Redlock from 'redlock';
import { HttpModule } from '../../src/http';
import { LockModule, LockService } from '../../src/lock';
import { MetricsModule } from '../../src/metrics';
import { RedisModule } from '../../src/redis';
import { redisOptions } from '../../src/app.options';
import { benchConfig } from '../lib/server';
import { percentileInPlace, sleep } from '../lib/util';

export type LockVariant = 'ours' | 'redlock';

/** Upper bound on operations of one measured run, whatever its duration. */
const MAX_OPS = 5_000_000;
/** A run stops early after this many failed operations. */
const MAX_ERRORS = 1_000;

export interface LockRun {
  ops: number;
  errors: number;
  firstError?: string;
  elapsedMs: number;
  opsPerSec: number;
  p99Ms: number;
}

export interface UsingRun {
  started: number;
  completed: number;
  errors: number;
  firstError?: string;
  /** sections whose signal had fired by the end of the work */
  aborted: number;
  meanMs: number;
  maxMs: number;
}

export class LockBench {
  private constructor(
    private readonly app: INestApplicationContext,
    private readonly locks: LockService,
    private readonly redlockClient: Redis,
    private readonly redlock: Redlock,
  ) {}

  /**
   * @param redlockThresholdMs redlock's `automaticExtensionThreshold` (its default, 500 ms,
   * is refused by `using` with a 300 ms lease; see {@link redlockDefaultUsingError}).
   */
  static async create(redisUrl: string, redlockThresholdMs: number): Promise<LockBench> {
    const config = benchConfig(redisUrl);
    @Module({
      imports: [
        RedisModule.forRoot(redisOptions(config)),
        MetricsModule.forRoot({}),
        HttpModule,
        LockModule.forRoot({}),
      ],
    })
    class LockBenchModule {}
    const app = await NestFactory.createApplicationContext(LockBenchModule, {
      logger: false,
      abortOnError: false,
    });
    await app.init();
    const locks = app.get(LockService);
    const client = new Redis(redisUrl, { maxRetriesPerRequest: 2, lazyConnect: true });
    await client.connect();
    const redlock = new Redlock([client], { automaticExtensionThreshold: redlockThresholdMs });
    // Redlock reports every failed vote as an 'error' event; without a listener it would throw.
    redlock.on('error', () => undefined);
    return new LockBench(app, locks, client, redlock);
  }

  async close(): Promise<void> {
    this.redlockClient.disconnect();
    await this.app.close();
  }

  /** One acquire + release on `resource`. */
  private op(variant: LockVariant, resource: string, ttl: number): Promise<void> {
    if (variant === 'ours') {
      return this.locks.acquire(resource, { ttl }).then(async (h) => {
        await h.release();
      });
    }
    return this.redlock.acquire([`redlock:${resource}`], ttl).then(async (lock) => {
      await lock.release();
    });
  }

  /**
   * `workers` loops, each on its own resource (`workers` = 1: sequential on one resource), each
   * doing acquire + release back to back until `durationMs` has passed.
   */
  async throughput(
    variant: LockVariant,
    workers: number,
    durationMs: number,
    ttl: number,
    resourcePrefix: string,
  ): Promise<LockRun> {
    const latencies: number[] = [];
    let ops = 0;
    let errors = 0;
    let firstError: string | undefined;
    const start = performance.now();
    const deadline = start + durationMs;
    const worker = async (i: number): Promise<void> => {
      const resource = `${resourcePrefix}:${i}`;
      while (performance.now() < deadline && ops < MAX_OPS && errors < MAX_ERRORS) {
        const t0 = performance.now();
        try {
          await this.op(variant, resource, ttl);
          latencies.push(performance.now() - t0);
          ops += 1;
        } catch (err) {
          errors += 1;
          firstError ??= (err as Error).message;
        }
      }
    };
    await Promise.all(Array.from({ length: workers }, (_, i) => worker(i)));
    const elapsedMs = performance.now() - start;
    return {
      ops,
      errors,
      firstError,
      elapsedMs,
      opsPerSec: (ops / elapsedMs) * 1000,
      p99Ms: percentileInPlace(latencies, 99),
    };
  }

  /**
   * `parallel` auto-extended sections at once, each on its own resource, each working
   * `workMs` under a `ttl` ms lease.
   */
  async using(
    variant: LockVariant,
    parallel: number,
    ttl: number,
    workMs: number,
    resourcePrefix: string,
  ): Promise<UsingRun> {
    let completed = 0;
    let errors = 0;
    let aborted = 0;
    let firstError: string | undefined;
    const durations: number[] = [];
    const work = async (signal: AbortSignal): Promise<void> => {
      await sleep(workMs);
      if (signal.aborted) aborted += 1;
    };
    const section = async (i: number): Promise<void> => {
      const resource = `${resourcePrefix}:${i}`;
      const t0 = performance.now();
      try {
        if (variant === 'ours') await this.locks.using(resource, { ttl }, (signal) => work(signal));
        else await this.redlock.using([`redlock:${resource}`], ttl, (signal) => work(signal));
        completed += 1;
        durations.push(performance.now() - t0);
      } catch (err) {
        errors += 1;
        firstError ??= (err as Error).message;
      }
    };
    await Promise.all(Array.from({ length: parallel }, (_, i) => section(i)));
    return {
      started: parallel,
      completed,
      errors,
      firstError,
      aborted,
      meanMs: durations.length ? durations.reduce((a, b) => a + b, 0) / durations.length : NaN,
      maxMs: durations.length ? Math.max(...durations) : NaN,
    };
  }
}

/**
 * What `redlock.using([key], ttl, fn)` does with redlock's default settings (measured, not
 * assumed): the error message, or undefined when it ran.
 */
export async function redlockDefaultUsingError(
  redisUrl: string,
  ttl: number,
): Promise<string | undefined> {
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 2, lazyConnect: true });
  await client.connect();
  const redlock = new Redlock([client]);
  redlock.on('error', () => undefined);
  try {
    await redlock.using(['redlock:default-settings-probe'], ttl, async () => sleep(10));
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    client.disconnect();
  }
}
