import { ConfigurableModuleBuilder } from '@nestjs/common';

/**
 * Options of {@link QueueModule}. Times in ms.
 *
 * @example
 * QueueModule.forRoot({ prefix: 'shop', processors: true, concurrency: 10, isGlobal: true })
 */
export interface QueueModuleOptions {
  /** The app's key prefix (`RedisModule`'s `prefix`): part of every queue's hash tag. */
  prefix: string;
  /**
   * Create BullMQ Workers for the `@Processor()` providers found in the app. Default false: the
   * API role only produces; the worker role (and `all`) sets it.
   */
  processors?: boolean;
  /** Jobs one process runs at once per queue (a processor's `@Processor(name, { concurrency })` wins). Default 10. */
  concurrency?: number;
  /** On shutdown, how long active jobs may run before workers are closed anyway. Default 10 s. */
  drainTimeoutMs?: number;
  /** Attempts per job, the first included. Default 3. */
  attempts?: number;
  /** First retry delay (exponential: ×2 per attempt). Default 2 s. */
  backoffMs?: number;
  /** Jitter of each retry delay, 0-1 (0.5: a delay falls in [½d, d]). Default 0.5. */
  backoffJitter?: number;
  /** Completed jobs kept per queue. Default 1000. */
  keepCompleted?: number;
  /** Failed jobs (dead letters) kept per queue. Default 10 000. */
  keepFailed?: number;
  /** Age after which completed/failed jobs may be removed regardless of count. Default 7 days. */
  keepAgeMs?: number;
  /** How long an idempotency key maps to its first job. Default 24 h. */
  idempotencyTtlMs?: number;
  /** BullMQ worker `lockDuration`. Default 30 s (BullMQ's). */
  lockDurationMs?: number;
  /** BullMQ worker `stalledInterval`: how often stalled jobs are looked for. Default `lockDurationMs`. */
  stalledIntervalMs?: number;
  /** Bound on the `/metrics` read of job counts. Default 1 s. */
  metricsTimeoutMs?: number;
}

export type ResolvedQueueOptions = Required<QueueModuleOptions>;

export const QUEUE_DEFAULTS = {
  processors: false,
  concurrency: 10,
  drainTimeoutMs: 10_000,
  attempts: 3,
  backoffMs: 2_000,
  backoffJitter: 0.5,
  keepCompleted: 1_000,
  keepFailed: 10_000,
  keepAgeMs: 7 * 86_400_000,
  idempotencyTtlMs: 86_400_000,
  lockDurationMs: 30_000,
  metricsTimeoutMs: 1_000,
} as const;

export function resolveQueueOptions(o: QueueModuleOptions): ResolvedQueueOptions {
  const defined = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const r = { ...QUEUE_DEFAULTS, ...defined } as ResolvedQueueOptions;
  r.stalledIntervalMs = o.stalledIntervalMs ?? r.lockDurationMs;
  return r;
}

export const {
  ConfigurableModuleClass: QueueConfigurableModule,
  MODULE_OPTIONS_TOKEN: QUEUE_MODULE_OPTIONS,
  OPTIONS_TYPE: QUEUE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: QUEUE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<QueueModuleOptions>({ moduleName: 'Queue' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
