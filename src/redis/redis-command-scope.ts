import { createHash } from 'node:crypto';

/**
 * What a client's commands are attributed to: its role, and whoever observes commands for the
 * app that owns the client (set by MetricsModule; left undefined when nothing observes).
 */
export interface RedisCommandScope {
  /** The `role` label of the client's commands: `state`, `cache`, or another role name. */
  readonly role: string;
  observer?: RedisCommandObserver;
}

/** Notified of commands that fail before they are sent (see {@link redisCommandScope}). */
export interface RedisCommandObserver {
  /** A command refused without being written (the server is known to be down or stalled). */
  refused(scope: RedisCommandScope, command: string, firstArg?: unknown): void;
}

let current: RedisCommandScope | undefined;

/**
 * The scope of the command being written right now, or undefined. ioredis publishes its
 * `ioredis:command` trace `start` event synchronously inside `Redis#sendCommand`, and every
 * command of the project's clients is written from inside their `sendCommand`
 * (src/redis/redis.connection.ts), which runs it with {@link withRedisCommandScope}: direct
 * commands, pipelines, MULTI, auto-pipelined batches (ioredis's pipeline calls the client's own
 * `sendCommand` when it runs) and Cluster commands routed to a node. Commands ioredis sends
 * on its own from a node connection (Cluster slot refreshes, MOVED/ASK redirections, a node's
 * ready check) and commands of clients the project did not build have no scope.
 */
export function redisCommandScope(): RedisCommandScope | undefined {
  return current;
}

/** Runs `send` (a client's `sendCommand`) with `scope` as the current command scope. */
export function withRedisCommandScope<T>(scope: RedisCommandScope, send: () => T): T {
  const previous = current;
  current = scope;
  try {
    return send();
  } finally {
    current = previous;
  }
}

const scriptsBySha = new Map<string, string>();
const scriptsBySource = new Map<string, string>();

/**
 * Records a Lua script's name under its SHA1 (what EVALSHA sends) and its source (what the EVAL
 * fallback sends), so command metrics can name the script. Called by `loadLuaScripts`.
 */
export function registerScriptName(name: string, lua: string): void {
  scriptsBySha.set(createHash('sha1').update(lua).digest('hex'), name);
  scriptsBySource.set(lua, name);
}

/** The name of a registered script from EVALSHA's SHA1 or EVAL's source, or undefined. */
export function scriptName(command: string, firstArg: unknown): string | undefined {
  if (typeof firstArg !== 'string') return undefined;
  if (command === 'evalsha' || command === 'EVALSHA') return scriptsBySha.get(firstArg);
  if (command === 'eval' || command === 'EVAL') return scriptsBySource.get(firstArg);
  return undefined;
}
