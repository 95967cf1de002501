import { Command, Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { RedisClient } from './redis.constants';
import { registerScriptName } from './redis-command-scope';

export interface LuaScript {
  /** The command name the script gets on the client (`client[name](...keys, ...args)`). */
  name: string;
  numberOfKeys: number;
  lua: string;
}

const KEYS_HEADER = /^--\s*KEYS:\s*(\d+)\b/m;

/**
 * Reads `*.lua` files from a folder (a module's `lua/`, copied to `dist` by nest-cli assets).
 * Each file starts with a header naming its keys, arguments and return codes; the line
 * `-- KEYS: <n>` is required and gives the number of keys. The file name (kebab-case) becomes
 * the command name in camelCase: `compare-and-delete.lua` → `compareAndDelete`. The name is also
 * recorded under the script's SHA1, so command metrics label its EVALSHA with it.
 */
export function loadLuaScripts(dir: string): LuaScript[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.lua'))
    .sort()
    .map((file) => {
      const lua = readFileSync(join(dir, file), 'utf8');
      const m = KEYS_HEADER.exec(lua);
      if (!m) throw new Error(`${join(dir, file)}: missing "-- KEYS: <n>" header line`);
      const name = basename(file, '.lua').replace(/-([a-z0-9])/g, (_, c: string) =>
        c.toUpperCase(),
      );
      registerScriptName(name, lua);
      return { name, numberOfKeys: Number(m[1]), lua };
    });
}

/**
 * Registers scripts on a client with `defineCommand`: ioredis sends EVALSHA and falls back to
 * EVAL once per node when the script cache is empty (after a restart or on a new Cluster node).
 * Safe to call more than once. Type the new commands by module augmentation of
 * `ioredis` `RedisCommander` next to the scripts.
 */
export function defineScripts(client: RedisClient, scripts: LuaScript[]): void {
  for (const s of scripts) {
    if (typeof (client as unknown as Record<string, unknown>)[s.name] === 'function') continue;
    client.defineCommand(s.name, { numberOfKeys: s.numberOfKeys, lua: s.lua });
  }
}

/** Replies as strings, as the commands `defineCommand` adds have them. */
const UTF8_REPLIES = { replyEncoding: 'utf8' as const };

type Socket = Redis['stream'];
/** Connections whose writes {@link coalesceWrites} holds until the next tick. */
const corked = new WeakSet<Socket>();
const uncork = (socket: Socket): void => {
  corked.delete(socket);
  socket.uncork();
};

/**
 * Holds a standalone/Sentinel connection's writes until the current tick ends (`cork`, then
 * `uncork` on `process.nextTick`), so that commands sent in one tick leave in one `writev`:
 * when one read answers many lock holders, their next commands go out together instead of one
 * syscall each. Order is kept (one socket, first in first out), nothing waits for a later
 * event-loop turn, and a command refused or queued offline by the client is not affected.
 * Cluster clients write to node connections of their own: left as they are. On a client with
 * write batching (`autoPipelining`, see `WriteBatching` in redis.connection.ts) the socket is
 * already corked until the end of the turn; this cork nests inside it.
 */
function coalesceWrites(client: RedisClient): void {
  if (!(client instanceof Redis) || client.status !== 'ready') return;
  const socket = client.stream;
  if (!socket || corked.has(socket)) return;
  socket.cork();
  corked.add(socket);
  process.nextTick(uncork, socket);
}

/**
 * A script sent by itself on the client's connection, never auto-pipelined: `EVALSHA`, and
 * `EVAL` (which loads it again) when the server answers NOSCRIPT (after a restart, a `SCRIPT
 * FLUSH`, on a new Cluster node). It goes through the client's own `sendCommand`, so the stall
 * breaker, the command timeout, Cluster routing and the command metrics (which name it from
 * its SHA1) apply as to any command. Scripts sent in the same tick share one socket write
 * (see {@link coalesceWrites}).
 *
 * Why not the client's `defineCommand` method: on an auto-pipelining client (the `state` role)
 * every call of a defined command goes into an auto-pipeline, and ioredis builds a `Pipeline`
 * object per batch, copies every defined command onto it and writes it from a `setImmediate`.
 * For a short chain of dependent round trips (a lock's acquire, then its release) that costs
 * more client CPU and garbage than the write it saves: measured in bench:coord (see
 * bench/results/coord-locks-profile.md).
 *
 * @example
 * const acquire = new DirectScript(loadLuaScripts(dir).find((s) => s.name === 'lockAcquire')!);
 * const fence = (await acquire.run(redis, [key, fenceKey, token, ttl, fenceTtl])) as number;
 */
export class DirectScript {
  readonly sha: string;

  constructor(readonly script: LuaScript) {
    this.sha = createHash('sha1').update(script.lua).digest('hex');
  }

  /** Runs the script with its keys, then its arguments, in one array (KEYS first). */
  run(client: RedisClient, keysAndArgs: (string | number)[]): Promise<unknown> {
    const { numberOfKeys, lua } = this.script;
    coalesceWrites(client);
    const sent = client.sendCommand(
      new Command('evalsha', [this.sha, numberOfKeys, ...keysAndArgs], UTF8_REPLIES),
    ) as Promise<unknown>;
    return sent.catch((err: unknown) => {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return client.sendCommand(
        new Command('eval', [lua, numberOfKeys, ...keysAndArgs], UTF8_REPLIES),
      );
    });
  }
}

/** The scripts of a folder, each sent with {@link DirectScript}, by name. */
export function loadDirectScripts(dir: string): Map<string, DirectScript> {
  return new Map(loadLuaScripts(dir).map((s) => [s.name, new DirectScript(s)]));
}
