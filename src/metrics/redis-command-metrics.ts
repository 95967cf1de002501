import { Inject, Injectable, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import diagnostics from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import {
  RedisCommandObserver,
  RedisCommandScope,
  redisCommandScope,
  RedisService,
  scriptName,
} from '../redis';
import { METRICS_MODULE_OPTIONS, MetricsModuleOptions } from './metrics.module-definition';
import { MetricsService } from './metrics.service';
import { redisRequestCost, RedisRequestCost } from './redis-request-cost';
import { histogramSamples, MetricValue, TallyMetric } from './tally-metric';

export const REDIS_COMMAND_DURATION = 'redis_command_duration_seconds';
export const REDIS_COMMAND_ERRORS = 'redis_command_errors_total';
/** `role` of commands written by no client of this app (see {@link RedisCommandMetrics}). */
export const OTHER_ROLE = 'other';
/** `command` once a role has {@link MAX_COMMANDS_PER_ROLE} distinct command names. */
export const OTHER_COMMAND = 'other';
const MAX_COMMANDS_PER_ROLE = 200;
/** Distinct scripts remembered per role (SHA1s and EVAL sources); beyond, no `script` label. */
const MAX_SCRIPTS_PER_ROLE = 500;
const BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

/**
 * One (role, command[, script]) series: plain numbers updated on the hot path and read at
 * scrape (prom-client's `observe` hashes its label set and allocates on every call).
 */
export class RedisCommandTally {
  /** Commands per bucket (not cumulative); beyond the last bound only `count` grows (+Inf). */
  readonly perBucket = new Float64Array(BUCKETS.length);
  sum = 0;
  count = 0;
  errors = 0;

  constructor(readonly labels: Readonly<Record<string, string>>) {}

  observe(seconds: number): void {
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]) i++;
    if (i < BUCKETS.length) this.perBucket[i]++;
    this.sum += seconds;
    this.count++;
  }
}

class RoleTallies {
  readonly commands = new Map<string, RedisCommandTally>();
  /** EVALSHA's SHA1 or EVAL's source → the script's series. */
  readonly scripts = new Map<string, RedisCommandTally>();
  private readonly byLabel = new Map<string, RedisCommandTally>();

  constructor(
    private readonly role: string,
    private readonly all: RedisCommandTally[],
  ) {}

  /** The series of a command name as ioredis has it (any case), created at zero. */
  command(name: string): RedisCommandTally {
    let t = this.commands.get(name);
    if (t === undefined) {
      let label = name.toLowerCase();
      if (!this.byLabel.has(label) && this.byLabel.size >= MAX_COMMANDS_PER_ROLE)
        label = OTHER_COMMAND;
      t = this.series(label, { role: this.role, command: label });
      this.commands.set(name, t);
    }
    return t;
  }

  /** The series of a script run by EVALSHA/EVAL (`firstArg`: the SHA1 or the source). */
  script(command: RedisCommandTally, name: string, firstArg: unknown): RedisCommandTally {
    if (typeof firstArg !== 'string') return command;
    let t = this.scripts.get(firstArg);
    if (t === undefined) {
      const script = scriptName(name, firstArg);
      if (script === undefined || this.scripts.size >= MAX_SCRIPTS_PER_ROLE) return command;
      const c = command.labels.command;
      t = this.series(`${c}\n${script}`, { role: this.role, command: c, script });
      this.scripts.set(firstArg, t);
    }
    return t;
  }

  private series(key: string, labels: Record<string, string>): RedisCommandTally {
    let t = this.byLabel.get(key);
    if (t === undefined) {
      t = new RedisCommandTally(labels);
      this.byLabel.set(key, t);
      this.all.push(t);
    }
    return t;
  }
}

const SCRIPT_COMMANDS = new Set(['evalsha', 'EVALSHA', 'eval', 'EVAL', 'evalsha_ro', 'eval_ro']);

/** Both metrics read the same tallies; resetting either clears them. */
abstract class CommandTallyMetric extends TallyMetric {
  constructor(
    name: string,
    help: string,
    protected readonly tallies: RedisCommandTally[],
  ) {
    super(name, help);
  }

  reset(): void {
    for (const t of this.tallies) {
      t.perBucket.fill(0);
      t.sum = t.count = t.errors = 0;
    }
  }
}

class DurationHistogram extends CommandTallyMetric {
  readonly type = 'histogram';

  protected values(): MetricValue[] {
    return this.tallies.flatMap((t) => histogramSamples(this.name, BUCKETS, t, t.labels));
  }
}

class ErrorCounter extends CommandTallyMetric {
  readonly type = 'counter';

  protected values(): MetricValue[] {
    return this.tallies.map((t) => ({ labels: { ...t.labels }, value: t.errors }));
  }
}

/** The trace context ioredis publishes per command, with the fields this tracer adds. */
interface CommandTrace {
  command: string;
  args: string[];
  error?: unknown;
  /** The series of the command, for a scoped command (undefined: counted at the end, unscoped). */
  rcmTally?: RedisCommandTally;
  rcmStart?: number;
  rcmCost?: RedisRequestCost;
}

/** Every subscribed app's metrics: unscoped commands are counted by each, under `role="other"`. */
const active = new Set<RedisCommandMetrics>();
/**
 * Apps of the process that count each request's Redis cost. While none does, the tracer never
 * reads the AsyncLocalStorage store (nothing enters one either).
 */
let requestCostApps = 0;

function onStart(message: unknown): void {
  const ctx = message as CommandTrace;
  const scope = redisCommandScope();
  if (scope !== undefined) {
    const observer = scope.observer;
    // A client of an app that does not measure its commands.
    if (!(observer instanceof RedisCommandMetrics)) return;
    ctx.rcmTally = observer.tally(scope.role, ctx.command, ctx.args);
  }
  if (requestCostApps > 0) {
    const cost = redisRequestCost.getStore();
    if (cost !== undefined) {
      cost.commands++;
      ctx.rcmCost = cost;
    }
  }
  ctx.rcmStart = performance.now();
}

function onAsyncEnd(message: unknown): void {
  const ctx = message as CommandTrace;
  const start = ctx.rcmStart;
  if (start === undefined) return;
  const ms = performance.now() - start;
  const tally = ctx.rcmTally;
  if (tally !== undefined) tally.observe(ms / 1000);
  else for (const m of active) m.tally(OTHER_ROLE, ctx.command, ctx.args).observe(ms / 1000);
  if (ctx.rcmCost !== undefined) ctx.rcmCost.ms += ms;
}

function onError(message: unknown): void {
  const ctx = message as CommandTrace;
  if (ctx.rcmStart === undefined) return;
  // ioredis answers a NOSCRIPT by sending the script with EVAL: not a failure of the app.
  const err = ctx.error as { message?: unknown } | undefined;
  if (typeof err?.message === 'string' && err.message.startsWith('NOSCRIPT')) return;
  const tally = ctx.rcmTally;
  if (tally !== undefined) tally.errors++;
  else for (const m of active) m.tally(OTHER_ROLE, ctx.command, ctx.args).errors++;
}

const channel = diagnostics.tracingChannel('ioredis:command');

function subscribe(): void {
  channel.start.subscribe(onStart);
  channel.asyncEnd.subscribe(onAsyncEnd);
  channel.error.subscribe(onError);
}

function unsubscribe(): void {
  channel.start.unsubscribe(onStart);
  channel.asyncEnd.unsubscribe(onAsyncEnd);
  channel.error.unsubscribe(onError);
}

/**
 * `redis_command_duration_seconds{role,command[,script]}` and
 * `redis_command_errors_total{role,command[,script]}`, from ioredis's `ioredis:command` tracing
 * channel (no wrapper around the client): every command ioredis writes, pipelined, in MULTI,
 * auto-pipelined or routed to a Cluster node, timed from the write to its reply.
 *
 * - `role`: the role of the client that wrote it (`state`, `cache`; dedicated and blocking
 *   connections count under the role they were opened on), known exactly from the command
 *   scope the project's clients write in (src/redis/redis-command-scope.ts). Commands no
 *   client of an app wrote (Cluster slot refreshes and redirections ioredis sends on its own,
 *   connections built by libraries, such as BullMQ's) count as `role="other"`, in every app of
 *   the process that measures.
 * - `command`: the command name in lower case, never keys or arguments; EVALSHA and EVAL of a
 *   script loaded by `loadLuaScripts` add `script` (its name, e.g. `slidingWindow`); unknown
 *   scripts have no `script` label.
 * - Errors: error replies and lost connections, and commands refused without being sent while
 *   the server is known to be down or stalled (the stall breaker) or that ioredis failed
 *   without writing them (not writable, offline queue flushed or timed out); those have no
 *   duration.
 *   NOSCRIPT (answered by ioredis with EVAL) is not counted.
 *
 * Each app counts its own clients' commands in its own registry; the channel is subscribed
 * once per process while any app measures, and left on shutdown.
 */
@Injectable()
export class RedisCommandMetrics
  implements RedisCommandObserver, OnModuleInit, OnApplicationShutdown
{
  private readonly tallies: RedisCommandTally[] = [];
  private readonly roles = new Map<string, RoleTallies>();
  readonly enabled: boolean;
  /** Each request's Redis cost is counted (`redisRequestCost`, only with the metrics on). */
  readonly requestCost: boolean;

  constructor(
    private readonly metrics: MetricsService,
    @Optional() @Inject(METRICS_MODULE_OPTIONS) options: MetricsModuleOptions = {},
    @Optional() private readonly redis?: RedisService,
  ) {
    this.enabled = options.redisCommands !== false;
    this.requestCost = this.enabled && options.redisRequestCost === true;
  }

  onModuleInit(): void {
    if (!this.enabled) return;
    const registry = this.metrics.registry;
    if (registry.getSingleMetric(REDIS_COMMAND_DURATION)) return; // registered by another instance
    registry.registerMetric(
      new DurationHistogram(
        REDIS_COMMAND_DURATION,
        'Redis command duration in seconds, from write to reply, by client role and command (and script)',
        this.tallies,
      ) as never,
    );
    registry.registerMetric(
      new ErrorCounter(
        REDIS_COMMAND_ERRORS,
        'Redis commands that failed (error reply, lost connection, or refused while the server is down), by client role and command',
        this.tallies,
      ) as never,
    );
    this.redis?.observeCommands(this);
    if (active.size === 0) subscribe();
    active.add(this);
    if (this.requestCost) requestCostApps++;
  }

  onApplicationShutdown(): void {
    if (!active.delete(this)) return;
    if (this.requestCost) requestCostApps--;
    this.redis?.observeCommands(undefined);
    if (active.size === 0) unsubscribe();
  }

  /** The series of a command of a role (`args`: the traced arguments, for a script's name). */
  tally(role: string, command: string, args: readonly unknown[] | undefined): RedisCommandTally {
    let r = this.roles.get(role);
    if (r === undefined) this.roles.set(role, (r = new RoleTallies(role, this.tallies)));
    const t = r.command(command);
    return SCRIPT_COMMANDS.has(command) ? r.script(t, command, args?.[0]) : t;
  }

  refused(scope: RedisCommandScope, command: string, firstArg?: unknown): void {
    this.tally(scope.role, command, [firstArg]).errors++;
  }
}
