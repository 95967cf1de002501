/**
 * What tracing one command costs the client's CPU, without Redis or HTTP around it (part of
 * `npm run bench:metrics`): ioredis's `traceCommand` on a command of a scoped client, with
 * nobody subscribed to `ioredis:command`, with do-nothing handlers subscribed (ioredis's trace
 * context and Node's traced promise), and with RedisCommandMetrics subscribed. The three states
 * alternate in one process, round after round; medians of rounds, in ns per command.
 */
import diagnostics from 'node:diagnostics_channel';
import { Registry } from 'prom-client';
import { Command, Redis } from 'ioredis';
// ioredis's own tracing entry point (the function `Redis#sendCommand` calls for each command).
import { traceCommand } from 'ioredis/built/tracing';
import type { CommandTraceContext } from 'ioredis/built/tracing';
import { MetricsService, RedisCommandMetrics } from '../../src/metrics';
import { withRedisCommandScope } from '../../src/redis';
import { median } from '../lib/util';

export interface TraceCost {
  /** ns per command, medians of rounds */
  untraced: number;
  noopTracer: number;
  metrics: number;
}

type TraceState = keyof TraceCost;

export async function measureTraceCost(rounds = 5, perRound = 200_000): Promise<TraceCost> {
  const client = new Redis({ lazyConnect: true, port: 1, maxRetriesPerRequest: 0 });
  // The context ioredis builds for each traced command (a private method of ioredis 6).
  const buildContext = (c: Command): CommandTraceContext =>
    (
      client as unknown as { _buildCommandContext(c: Command): CommandTraceContext }
    )._buildCommandContext(c);
  const command = new Command('get', ['bench:cache:item:1']);
  const metrics = new RedisCommandMetrics({ registry: new Registry() } as MetricsService, {});
  const scope = { role: 'cache', observer: metrics };
  const channel = diagnostics.tracingChannel('ioredis:command');
  const noop = (): void => undefined;
  const parts = [channel.start, channel.asyncEnd, channel.error];
  const states: Record<TraceState, [() => void, () => void]> = {
    untraced: [noop, noop],
    noopTracer: [
      () => parts.forEach((c) => c.subscribe(noop)),
      () => parts.forEach((c) => c.unsubscribe(noop)),
    ],
    metrics: [
      () => metrics.onModuleInit(),
      () => {
        metrics.onApplicationShutdown();
        (metrics as unknown as { metrics: MetricsService }).metrics.registry.clear();
      },
    ],
  };
  const run = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      let resolve!: (v: string) => void;
      const reply = new Promise<string>((r) => (resolve = r));
      const traced = withRedisCommandScope(scope, () =>
        traceCommand(
          () => reply,
          () => buildContext(command),
        ),
      );
      resolve('v');
      await traced;
    }
  };
  const samples: Record<TraceState, number[]> = { untraced: [], noopTracer: [], metrics: [] };
  try {
    for (const [on, off] of Object.values(states)) {
      on();
      await run(perRound / 2);
      off();
    }
    for (let round = 0; round < rounds; round++) {
      for (const [state, [on, off]] of Object.entries(states) as [
        TraceState,
        [() => void, () => void],
      ][]) {
        on();
        const t0 = process.cpuUsage();
        await run(perRound);
        const d = process.cpuUsage(t0);
        off();
        samples[state].push(((d.user + d.system) * 1000) / perRound);
      }
    }
  } finally {
    client.disconnect();
  }
  return {
    untraced: median(samples.untraced),
    noopTracer: median(samples.noopTracer),
    metrics: median(samples.metrics),
  };
}
