import { Injectable, Logger, OnApplicationBootstrap, Optional } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { WorkerHost } from '@nestjs/bullmq';
import { Job, Worker, WorkerOptions } from 'bullmq';
import { performance } from 'node:perf_hooks';
import { RateLimitedLogger } from '../common';
import { MetricsService } from '../metrics';
import { RedisClient, RedisService } from '../redis';
import { closeWithin, settlesWithin, workerConnection } from './queue-connections';
import { JobMetrics } from './queue-metrics';
import { isQueueName } from './queue.constants';
import { QueueService } from './queue.service';

/**
 * Metadata keys written by @nestjs/bullmq's `@Processor()` and `@OnWorkerEvent()` (its
 * bull.constants, not exported from the package index).
 */
const PROCESSOR_METADATA = 'bullmq:processor_metadata';
const WORKER_METADATA = 'bullmq:worker_metadata';
const ON_WORKER_EVENT_METADATA = 'bullmq:worker_events_metadata';

const FORCED_CLOSE_MS = 2_000;

interface RunningWorker {
  worker: Worker;
  connection: RedisClient;
}

/**
 * Our explorer of `@Processor(name)` providers (written the standard @nestjs/bullmq way:
 * `class X extends WorkerHost { process(job) {…} }`): creates one BullMQ Worker per processor,
 * but only when the module option `processors` is on (worker and all roles). We do not import
 * `BullModule.forRoot`: its explorer would start workers in every role (the API role must only
 * produce) and closes queues before workers on shutdown.
 *
 * Per job it adds no Redis command to what BullMQ does, and little work: the processor wrapper
 * times the attempt into the queue's tally (queue-metrics.ts: plain numbers, read at scrape).
 * Shutdown: stop taking jobs, let active ones finish within `drainTimeoutMs`, then disconnect
 * (bounded), before QueueService closes the queues.
 */
@Injectable()
export class QueueWorkers implements OnApplicationBootstrap {
  private readonly logger = new Logger('Queue');
  private readonly running: RunningWorker[] = [];
  private readonly metrics: MetricsService;
  private jobMetrics?: JobMetrics;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly queues: QueueService,
    private readonly redis: RedisService,
    @Optional() metrics?: MetricsService,
  ) {
    this.metrics = metrics ?? MetricsService.standalone();
    queues.beforeClose(() => this.close());
  }

  /** The workers of this process (empty unless `processors` is on). */
  get workers(): Worker[] {
    return this.running.map((r) => r.worker);
  }

  onApplicationBootstrap(): void {
    if (!this.queues.options.processors) return;
    for (const wrapper of this.discovery.getProviders()) {
      const type = processorClass(wrapper);
      if (!type) continue;
      const meta = Reflect.getMetadata(PROCESSOR_METADATA, type) as { name?: string };
      const name = meta.name;
      if (!isQueueName(name))
        throw new Error(`@Processor('${name}') on ${type.name}: not a queue of QueueModule`);
      const instance = wrapper.instance as unknown;
      if (!(instance instanceof WorkerHost))
        throw new Error(`${type.name} has @Processor('${name}') but does not extend WorkerHost`);
      const extra = (Reflect.getMetadata(WORKER_METADATA, type) ?? {}) as Partial<WorkerOptions>;
      this.start(name, instance, extra);
      this.logger.log(`processing queue "${name}" with ${type.name}`);
    }
  }

  private start(name: string, host: WorkerHost, extra: Partial<WorkerOptions>): void {
    const o = this.queues.options;
    this.jobMetrics ??= new JobMetrics(this.metrics);
    const tally = this.jobMetrics.tally(name);
    // Not async, one promise reaction per job: this runs once per job attempt.
    const processor = (job: Job, token?: string): unknown => {
      const start = performance.now();
      let running: unknown;
      try {
        running = host.process(job, token);
      } catch (err) {
        tally.observe((performance.now() - start) / 1000, false);
        throw err;
      }
      if (!isThenable(running)) {
        tally.observe((performance.now() - start) / 1000, true);
        return running;
      }
      return running.then(
        (result) => {
          tally.observe((performance.now() - start) / 1000, true);
          return result;
        },
        (err: unknown) => {
          tally.observe((performance.now() - start) / 1000, false);
          throw err;
        },
      );
    };
    const connection = workerConnection(
      this.redis.connectionSettings('state'),
      `${o.prefix}:queue:worker:${name}`,
    );
    const worker = new Worker(name, processor as (job: Job, token?: string) => Promise<unknown>, {
      concurrency: o.concurrency,
      lockDuration: o.lockDurationMs,
      stalledInterval: o.stalledIntervalMs,
      ...extra,
      connection,
      prefix: this.queues.prefixOf(name as never),
      autorun: true,
    });
    const errors = new RateLimitedLogger(this.logger, 10_000);
    worker.on('error', (err) => errors.warn(`worker "${name}": ${err.message}`));
    // WorkerHost's `worker` getter reads this field (as @nestjs/bullmq's explorer sets it).
    (host as unknown as { _worker: Worker })._worker = worker;
    this.bindWorkerEvents(host, worker);
    this.running.push({ worker, connection });
  }

  /** `@OnWorkerEvent('completed')` methods of the processor, as @nestjs/bullmq wires them. */
  private bindWorkerEvents(host: WorkerHost, worker: Worker): void {
    const proto = Object.getPrototypeOf(host) as Record<string, unknown>;
    for (const key of this.scanner.getAllMethodNames(proto)) {
      const method = proto[key] as (...args: unknown[]) => unknown;
      const meta = Reflect.getMetadata(ON_WORKER_EVENT_METADATA, method) as
        { eventName: string } | undefined;
      if (meta)
        worker.on(meta.eventName as 'completed', (...args: unknown[]) => method.apply(host, args));
    }
  }

  /**
   * Stops taking jobs and waits up to `drainTimeoutMs` for the active ones; then disconnects
   * (itself bounded: with Redis gone a forced close could otherwise hang). Jobs cut off this way
   * keep their lock until it expires; another worker then picks them up as stalled.
   */
  async close(): Promise<void> {
    if (this.running.length === 0) return;
    const closing = Promise.all(this.running.map((r) => r.worker.close()));
    closing.catch(() => undefined);
    if (!(await settlesWithin(closing, this.queues.options.drainTimeoutMs))) {
      this.logger.warn(
        `active jobs did not finish within ${this.queues.options.drainTimeoutMs} ms: closing the workers anyway`,
      );
      await settlesWithin(
        Promise.all(this.running.map((r) => r.worker.disconnect())),
        FORCED_CLOSE_MS,
      );
      // What `worker.close(true)` would stop, had close() not been called already (BullMQ then
      // returns the pending close): the lock-renewal and stalled-check timers, local only.
      for (const { worker } of this.running) stopTimers(worker);
    }
    await Promise.all(this.running.map((r) => closeWithin(r.connection, FORCED_CLOSE_MS)));
    this.running.length = 0;
  }
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return typeof (x as PromiseLike<unknown> | null)?.then === 'function';
}

/** Stops a worker's lock-renewal and stalled-check timers (BullMQ internals, local state only). */
function stopTimers(worker: Worker): void {
  const w = worker as unknown as {
    lockManager?: { close(): Promise<void> };
    stalledCheckStopper?: () => void;
  };
  w.lockManager?.close().catch(() => undefined);
  w.stalledCheckStopper?.();
}

function processorClass(wrapper: InstanceWrapper): (new (...a: unknown[]) => unknown) | undefined {
  // As @nestjs/bullmq does: useValue/useFactory providers have no metatype of their class.
  const type = (
    !wrapper.metatype || wrapper.inject
      ? (wrapper.instance as object | undefined)?.constructor
      : wrapper.metatype
  ) as (new (...a: unknown[]) => unknown) | undefined;
  return type && Reflect.getMetadata(PROCESSOR_METADATA, type) ? type : undefined;
}
