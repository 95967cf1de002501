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
