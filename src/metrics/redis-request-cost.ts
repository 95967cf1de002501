import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';

/** The Redis commands one HTTP request caused: how many were sent, and their summed time. */
export interface RedisRequestCost {
  commands: number;
  /** Sum of the commands' durations in ms (concurrent commands overlap: it can exceed wall time). */
  ms: number;
}

/** The current request's cost, found by the command tracer (src/metrics/redis-command-metrics.ts). */
export const redisRequestCost = new AsyncLocalStorage<RedisRequestCost>();

const COST = Symbol('redis:request-cost');

/**
 * Starts counting the Redis cost of a request: called first thing for each request on the Node
 * server (the `request` listener of HttpRequestMetrics, before Fastify's or Express's), so every
 * command the request leads to, in its middleware, guards, interceptors and handler and in
 * promise continuations and ticks scheduled from them, finds this store.
 */
export function enterRedisRequestCost(req: IncomingMessage): void {
  const cost: RedisRequestCost = { commands: 0, ms: 0 };
  (req as IncomingMessage & { [COST]?: RedisRequestCost })[COST] = cost;
  redisRequestCost.enterWith(cost);
}

/**
 * The Redis cost of a request so far, rounded for a log line (`{ commands: 3, ms: 0.42 }`), or
 * undefined when it is not counted (`REDIS_REQUEST_COST` off, the default).
 *
 * @example
 * customSuccessObject: (req, res, val) => ({ ...val, redis: redisCostOf(req) })
 */
export function redisCostOf(req: IncomingMessage): RedisRequestCost | undefined {
  const cost = (req as IncomingMessage & { [COST]?: RedisRequestCost })[COST];
  if (!cost) return undefined;
  return { commands: cost.commands, ms: Math.round(cost.ms * 100) / 100 };
}
