import { Injectable } from '@nestjs/common';
import { Cluster, Redis } from 'ioredis';
import { ConflictError, UnavailableError } from '../common';
import {
  isRedisUnavailableError,
  RedisClient,
  RedisRole,
  RedisService,
  RedisUnavailableError,
} from '../redis';
import {
  configNumber,
  InfoSections,
  LatencyEvent,
  MemoryStats,
  parseInfoSections,
  parseLatencyRow,
  parseMemoryStats,
  parseSlowlogEntry,
  replyText,
  SlowlogEntry,
} from './redis-replies';

/** What every per-server answer has: the server, and why it could not answer (if it could not). */
export interface ServerAnswer {
  /** `host:port` of the server (on a Cluster, one master). */
  addr: string;
  /** Set when this server could not answer (unreachable, timed out, or a Redis error such as a disabled command); the other fields are then absent. */
  error?: string;
}

export interface SlowlogServer extends ServerAnswer {
  /** Entries in the slow log (`SLOWLOG LEN`), of which `entries` are the newest. */
  length?: number;
  /** `slowlog-log-slower-than`: commands slower than this many µs are logged; null when CONFIG is not allowed. */
  thresholdMicros?: number | null;
  entries?: SlowlogEntry[];
}

export interface InfoServer extends ServerAnswer {
  info?: InfoSections;
}

export interface LatencyServer extends ServerAnswer {
  /** `latency-monitor-threshold` in ms (0: the latency monitor is off); null when CONFIG is not allowed. */
  thresholdMs?: number | null;
  latest?: LatencyEvent[];
  /** `LATENCY DOCTOR`: Redis's own reading of the events, as text. */
  doctor?: string;
}

export interface MemoryServer extends ServerAnswer {
  stats?: MemoryStats;
  /** `MEMORY DOCTOR`: Redis's own advice, as text. */
  doctor?: string;
}

export interface BigKey {
  /** The key name (never its value), decoded as UTF-8. */
  key: string;
  /** `TYPE`: string, list, set, zset, hash, stream, or a module type. */
  type: string;
  /** `MEMORY USAGE … SAMPLES n`: bytes, estimated from `samples` elements for aggregates. */
  bytes: number;
}

export interface BigKeysServer extends ServerAnswer {
  /** Keys sampled with MEMORY USAGE. */
  scanned: number;
  /** The SCAN went round the whole keyspace (its cursor came back to 0) within the limits. */
  complete: boolean;
  /** Why it stopped early: `limit` (keys), `time` (budget), `error` (see `error`); null when complete. */
  truncated: 'limit' | 'time' | 'error' | null;
  elapsedMs: number;
  /** The biggest keys seen, biggest first. */
  keys: BigKey[];
  /** Keys and bytes seen per type. */
  byType: Record<string, { keys: number; bytes: number }>;
}

export interface BigKeysOptions {
  /** Keys to sample per server at most. */
  limit: number;
  /** How many of the biggest keys to return per server. */
  top: number;
  /** `MEMORY USAGE … SAMPLES` (elements sampled per aggregate key; 0, "all", is not offered). */
  samples: number;
  /** Time budget of the whole scan, ms: no new SCAN starts after it. */
  budgetMs: number;
  /** A `SCAN MATCH` glob; undefined: every key. */
  match?: string;
}

/** Keys per SCAN call and per MEMORY USAGE pipeline: small enough not to delay the app's commands on the shared connection. */
export const BIG_KEYS_BATCH = 500;

/**
 * Read-only diagnostics of the Redis servers behind a role, answered per server (each master of
 * a Cluster, in parallel): SLOWLOG, INFO, LATENCY, MEMORY STATS, and a bounded big-key scan (SCAN
 * with MEMORY USAGE sampling; never KEYS, never a value). Uses the role's command client (its
 * command timeout and stall breaker bound every call). A server that fails is reported in its
 * own entry (`error`); when every server is unreachable the call throws
 * {@link UnavailableError} (503 JSON naming the servers and why).
 */
@Injectable()
export class RedisDiagnostics {
  /**
   * A bigkeys scan of this process is running. One at a time: its SCAN and MEMORY USAGE batches
   * share the role's command connection with the app, so concurrent scans would queue the app's
   * own commands behind theirs (and time them out).
   */
  private scanning = false;

  constructor(private readonly redis: RedisService) {}

  /** The newest `count` slow-log entries of each server, with the log's length and threshold. */
  slowlog(role: RedisRole, count: number): Promise<SlowlogServer[]> {
    return this.eachServer(role, async (node) => {
      const [entries, length, threshold] = await run(node, [
        ['SLOWLOG', 'GET', count],
        ['SLOWLOG', 'LEN'],
        ['CONFIG', 'GET', 'slowlog-log-slower-than'],
      ]);
      return {
        length: Number(required(length)),
        thresholdMicros: optional(threshold, configNumber),
        entries: (required(entries) as unknown[]).map(parseSlowlogEntry),
      };
    });
  }

  /** `INFO <section>` of each server, parsed. */
  info(role: RedisRole, section: string): Promise<InfoServer[]> {
    return this.eachServer(role, async (node) => ({
      info: parseInfoSections(replyText(await node.call('INFO', section))),
    }));
  }

  /** `LATENCY LATEST` and `LATENCY DOCTOR` of each server, with the monitor's threshold. */
  latency(role: RedisRole): Promise<LatencyServer[]> {
    return this.eachServer(role, async (node) => {
      const [latest, doctor, threshold] = await run(node, [
        ['LATENCY', 'LATEST'],
        ['LATENCY', 'DOCTOR'],
        ['CONFIG', 'GET', 'latency-monitor-threshold'],
      ]);
      return {
        thresholdMs: optional(threshold, configNumber),
        latest: (required(latest) as unknown[]).map(parseLatencyRow),
        doctor: replyText(required(doctor)),
      };
    });
  }

  /** `MEMORY STATS` and `MEMORY DOCTOR` of each server. */
  memory(role: RedisRole): Promise<MemoryServer[]> {
    return this.eachServer(role, async (node) => {
      const [stats, doctor] = await run(node, [
        ['MEMORY', 'STATS'],
        ['MEMORY', 'DOCTOR'],
      ]);
      return { stats: parseMemoryStats(required(stats)), doctor: replyText(required(doctor)) };
    });
  }

  /**
   * The biggest keys of each server: SCAN (`COUNT` {@link BIG_KEYS_BATCH}, `MATCH` if given)
   * with one pipeline of `MEMORY USAGE … SAMPLES n` and `TYPE` per batch, every server in
   * parallel, until the keyspace is covered, `limit` keys are sampled on that server, or the
   * time budget is spent (no SCAN starts after it; the batch in flight finishes, each of its
   * commands bounded by the command timeout). Key names are handled as bytes, so binary names
   * are measured too; values are never read.
   */
  async bigKeys(role: RedisRole, o: BigKeysOptions): Promise<BigKeysServer[]> {
    if (this.scanning)
      throw new ConflictError(
        'A bigkeys scan is already running in this process (one at a time, so the app keeps its Redis connection); retry when it has answered',
      );
    this.scanning = true;
    try {
      return await this.scanAll(role, o);
    } finally {
      this.scanning = false;
    }
  }

  private async scanAll(role: RedisRole, o: BigKeysOptions): Promise<BigKeysServer[]> {
    const deadline = Date.now() + o.budgetMs;
    const progress = new Map<string, BigKeysServer>();
    const answers = await this.eachServer(role, (node, addr) => {
      const p: BigKeysServer = {
        addr,
        scanned: 0,
        complete: false,
        truncated: null,
        elapsedMs: 0,
        keys: [],
        byType: {},
      };
      progress.set(addr, p);
      return scanServer(node, o, deadline, p);
    });
    // A server that failed midway still reports what it had measured before.
    return answers.map((a) => {
      if (!a.error) return a as BigKeysServer;
      const p = progress.get(a.addr);
      return {
        ...(p ?? { scanned: 0, complete: false, elapsedMs: 0, keys: [], byType: {} }),
        addr: a.addr,
        complete: false,
        truncated: 'error',
        error: a.error,
      };
    });
  }

  /** The servers behind a role's client: the node itself, or every known Cluster master. */
  private servers(role: RedisRole): { node: Redis; addr: string }[] {
    const client: RedisClient = this.redis.client(role);
    if (client instanceof Cluster) {
      const masters = client.nodes('master');
      if (masters.length === 0)
        throw new UnavailableError(
          `Redis (${role} role) is unavailable: no Cluster master is known yet; retry shortly`,
        );
      return masters.map((node) => ({ node, addr: `${node.options.host}:${node.options.port}` }));
    }
    return [{ node: client, addr: standaloneAddr(client) }];
  }

  /**
   * Runs `fn` on every server of the role in parallel. A failing server gets `{ addr, error }`;
   * if every server is unreachable (not merely refusing a command), throws UnavailableError.
   */
  private async eachServer<T extends object>(
    role: RedisRole,
    fn: (node: Redis, addr: string) => Promise<T>,
  ): Promise<(ServerAnswer & Partial<T>)[]> {
    const servers = this.servers(role);
    const results = await Promise.all(
      servers.map(async ({ node, addr }) => {
        try {
          const answer: ServerAnswer & Partial<T> = { addr, ...(await fn(node, addr)) };
          return { answer, down: false };
        } catch (err) {
          return {
            answer: { addr, error: describeError(err) } as ServerAnswer & Partial<T>,
            down: isRedisUnavailableError(err),
          };
        }
      }),
    );
    if (results.every((r) => r.down))
      throw new UnavailableError(
        `Redis (${role} role) is unavailable: ${results.map((r) => `${r.answer.addr} ${r.answer.error}`).join('; ')}`,
      );
    return results.map((r) => r.answer);
  }
}

type Reply = [Error | null, unknown];

/** Sends commands to one server in one round trip; returns each command's `[error, reply]`. */
async function run(
  node: Redis,
  commands: [string, ...(string | number | Buffer)[]][],
): Promise<Reply[]> {
  const pipeline = node.pipeline();
  for (const [name, ...args] of commands) pipeline.call(name, ...args);
  const replies = await pipeline.exec();
  if (!replies) throw new RedisUnavailableError('the pipeline was discarded');
  return replies;
}

/** The reply, or the command's error thrown (the server then answers with `error`). */
function required([err, reply]: Reply): unknown {
  if (err) throw err;
  return reply;
}

/** A reply that may be refused (CONFIG is often disabled on managed Redis): null when it was. */
function optional<T>([err, reply]: Reply, map: (r: unknown) => T): T | null {
  if (err) {
    if (isRedisUnavailableError(err)) throw err;
    return null;
  }
  return map(reply);
}

function describeError(err: unknown): string {
  const e = err as Error | undefined;
  const text = e?.message ?? String(err);
  return isRedisUnavailableError(err) ? `unavailable: ${text}` : text;
}

/** host:port of a standalone or Sentinel-managed client: the server it is connected to when known. */
function standaloneAddr(client: Redis): string {
  const stream = (client as unknown as { stream?: { remoteAddress?: string; remotePort?: number } })
    .stream;
  if (client.options.sentinels?.length && stream?.remoteAddress)
    return `${stream.remoteAddress}:${stream.remotePort}`;
  return `${client.options.host}:${client.options.port}`;
}

/** Bytes sorted high to low, at most `top` kept. */
function keep(top: BigKey[], key: BigKey, max: number): void {
  if (top.length >= max && key.bytes <= top[top.length - 1].bytes) return;
  let i = top.length;
  while (i > 0 && top[i - 1].bytes < key.bytes) i--;
  top.splice(i, 0, key);
  if (top.length > max) top.pop();
}

/** The bounded scan of one server; fills `progress` as it goes (kept if a later batch fails). */
async function scanServer(
  node: Redis,
  o: BigKeysOptions,
  deadline: number,
  progress: BigKeysServer,
): Promise<BigKeysServer> {
  const started = Date.now();
  const byType = new Map<string, { keys: number; bytes: number }>();
  let cursor = '0';
  let dropped = false;
  try {
    do {
      if (Date.now() >= deadline) {
        progress.truncated = 'time';
        break;
      }
      const room = o.limit - progress.scanned;
      const count = Math.min(BIG_KEYS_BATCH, room);
      // scanBuffer, not callBuffer('SCAN', …): with auto-pipelining on (the shared clients),
      // ioredis 6 sends callBuffer without its command name.
      const [next, found] =
        o.match === undefined
          ? await node.scanBuffer(cursor, 'COUNT', count)
          : await node.scanBuffer(cursor, 'MATCH', o.match, 'COUNT', count);
      cursor = next.toString();
      const batch = found.slice(0, room);
      if (batch.length < found.length) dropped = true;
      if (batch.length > 0) {
        const replies = await run(
          node,
          batch.flatMap((key) => [
            ['MEMORY', 'USAGE', key, 'SAMPLES', o.samples],
            ['TYPE', key],
          ]),
        );
        batch.forEach((key, i) => {
          const bytes = measured(replies[2 * i]);
          const type = measured(replies[2 * i + 1]);
          // Null: the key expired or was deleted between SCAN and MEMORY USAGE (or, on a
          // Cluster, its slot is migrating away: ASK); it is not counted.
          if (bytes === null || type === null || type === 'none') return;
          const entry = { key: key.toString('utf8'), type: replyText(type), bytes: Number(bytes) };
          keep(progress.keys, entry, o.top);
          const t = byType.get(entry.type) ?? { keys: 0, bytes: 0 };
          t.keys += 1;
          t.bytes += entry.bytes;
          byType.set(entry.type, t);
        });
        progress.scanned += batch.length;
      }
      if (progress.scanned >= o.limit && (cursor !== '0' || dropped)) {
        progress.truncated = 'limit';
        break;
      }
    } while (cursor !== '0');
    progress.complete = cursor === '0' && !dropped && progress.truncated === null;
    return progress;
  } finally {
    progress.byType = Object.fromEntries(
      [...byType.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
    progress.elapsedMs = Date.now() - started;
  }
}

/**
 * A per-key reply: the value, or null when the key is moving to another Cluster node (MOVED,
 * ASK, TRYAGAIN: it is measured there, or next time); any other error is the server's.
 */
function measured([err, reply]: Reply): unknown {
  if (!err) return reply;
  if (/^(MOVED|ASK|TRYAGAIN) /.test(err.message)) return null;
  throw err;
}
