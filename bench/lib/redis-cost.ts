/** What a measured run cost Redis: deltas of INFO commandstats, cpu and (optionally) stats. */
import type { Redis } from 'ioredis';

export interface RedisSnapshot {
  /** calls per command from INFO commandstats (commands run inside Lua scripts included), INFO excluded */
  calls: Map<string, number>;
  cpuMs: number;
  /** NaN unless asked for (`netIn`) */
  netInBytes: number;
}

/** INFO commandstats and cpu, and INFO stats (bytes received) only with `netIn`. */
export async function redisSnapshot(
  client: Redis,
  { netIn = false }: { netIn?: boolean } = {},
): Promise<RedisSnapshot> {
  const text = await client.info('commandstats');
  const cpuText = await client.info('cpu');
  const statsText = netIn ? await client.info('stats') : undefined;
  const calls = new Map<string, number>();
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (m[1] === 'info') continue;
    calls.set(m[1], Number(m[2]));
  }
  const field = (src: string, name: string) =>
    Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(src)?.[1]);
  return {
    calls,
    cpuMs: (field(cpuText, 'used_cpu_user') + field(cpuText, 'used_cpu_sys')) * 1000,
    netInBytes: statsText === undefined ? NaN : field(statsText, 'total_net_input_bytes'),
  };
}

export interface RedisDelta {
  /** all calls (commandstats, in-script commands included) */
  commands: number;
  /** EVAL + EVALSHA calls: one per script run, i.e. round trips that ran a script */
  scripts: number;
  byCommand: Map<string, number>;
  cpuMs: number;
  netInBytes: number;
}

export function redisDelta(before: RedisSnapshot, after: RedisSnapshot): RedisDelta {
  const byCommand = new Map<string, number>();
  let commands = 0;
  for (const [cmd, n] of after.calls) {
    const d = n - (before.calls.get(cmd) ?? 0);
    if (d > 0) {
      byCommand.set(cmd, d);
      commands += d;
    }
  }
  // INFO is excluded by name; its few request bytes remain in netInBytes (negligible).
  const scripts = (byCommand.get('evalsha') ?? 0) + (byCommand.get('eval') ?? 0);
  return {
    commands,
    scripts,
    byCommand,
    cpuMs: after.cpuMs - before.cpuMs,
    netInBytes: after.netInBytes - before.netInBytes,
  };
}
