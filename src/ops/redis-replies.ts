/**
 * Redis diagnostic replies turned into JSON an operator can read (and `jq`): INFO text into
 * sections of fields, MEMORY STATS' flat name/value arrays into objects, SLOWLOG and LATENCY
 * rows into named fields. Pure functions of the reply, so they are unit-tested without Redis.
 */

/** A reply element as text: strings and Buffers as they are, numbers printed, anything else empty. */
export function replyText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return '';
}

/** A value of INFO or MEMORY STATS: a number when the text is exactly one, else the text; `k=v,…` lists as objects. */
export type ReplyValue = string | number | { [field: string]: string | number };

/** INFO parsed: section (lower-case, e.g. `memory`, `keyspace`) → field → value. */
export type InfoSections = Record<string, Record<string, ReplyValue>>;

/**
 * The number a reply text stands for, only when converting loses nothing: `"10"` → 10,
 * `"1.08"` → 1.08, but `"00000000"` (a git sha), `"1e3"`, `" 1"` and integers past 2^53 stay
 * text, so no identifier or large counter is silently altered.
 */
export function exactNumber(text: string): string | number {
  if (!/^-?\d+(\.\d+)?$/.test(text)) return text;
  const n = Number(text);
  if (!Number.isFinite(n)) return text;
  if (!text.includes('.')) return Number.isSafeInteger(n) && String(n) === text ? n : text;
  // Decimals: Redis prints ratios with many digits ("1.0804140567779541"); keep them as numbers
  // unless the text has a leading zero that is not the integer part's only digit ("01.5").
  return /^-?(0|[1-9]\d*)\./.test(text) ? n : text;
}

/** `keys=1,expires=0,avg_ttl=0` → `{ keys: 1, expires: 0, avg_ttl: 0 }`; anything else stays a value. */
function fieldValue(text: string): ReplyValue {
  const parts = text.split(',');
  if (parts.length > 0 && parts.every((p) => /^[A-Za-z_][A-Za-z0-9_.-]*=/.test(p))) {
    return Object.fromEntries(
      parts.map((p) => {
        const i = p.indexOf('=');
        return [p.slice(0, i), exactNumber(p.slice(i + 1))];
      }),
    );
  }
  return exactNumber(text);
}

/**
 * The text of `INFO [section]` as sections of fields: `# Memory` starts section `memory`,
 * `used_memory:1234` is a field. Values that are lists of `k=v` pairs (keyspace `db0`,
 * commandstats, a master's `slave0`) become objects. Built with `Object.fromEntries`, so a
 * field named `__proto__` is an ordinary property.
 *
 * @example
 * parseInfoSections('# Memory\r\nused_memory:1024\r\n').memory.used_memory // 1024
 */
export function parseInfoSections(text: string): InfoSections {
  const sections: [string, [string, ReplyValue][]][] = [];
  let current: [string, ReplyValue][] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith('#')) {
      current = [];
      sections.push([line.slice(1).trim().toLowerCase(), current]);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    if (!current) {
      current = [];
      sections.push(['', current]);
    }
    current.push([line.slice(0, colon), fieldValue(line.slice(colon + 1))]);
  }
  return Object.fromEntries(sections.map(([name, fields]) => [name, Object.fromEntries(fields)]));
}

/** A nested MEMORY STATS value: numbers, texts, and name/value arrays such as `db.0`. */
export type MemoryStats = { [name: string]: string | number | null | MemoryStats };

/**
 * `MEMORY STATS` (a flat array of alternating names and values; `db.<n>` values are arrays of
 * the same shape) as an object. Ratios Redis sends as text (`"1.08"`) become numbers.
 */
export function parseMemoryStats(reply: unknown): MemoryStats {
  if (!Array.isArray(reply)) return {};
  const entries: [string, string | number | null | MemoryStats][] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const value: unknown = reply[i + 1];
    entries.push([
      replyText(reply[i]),
      Array.isArray(value)
        ? parseMemoryStats(value)
        : typeof value === 'number'
          ? value
          : value === null || value === undefined
            ? null
            : exactNumber(replyText(value)),
    ]);
  }
  return Object.fromEntries(entries);
}

export interface SlowlogEntry {
  /** The entry's unique id (increasing; reset by SLOWLOG RESET). */
  id: number;
  /** When the command ran (ISO 8601). */
  at: string;
  /** Its execution time in microseconds (without network and queueing). */
  durationMicros: number;
  /** The command and its arguments as Redis recorded them: at most 32, each cut at 128 bytes. */
  command: string[];
  /** `ip:port` of the client that sent it. */
  client: string;
  /** Its `CLIENT SETNAME` (`<prefix>:state`, `<prefix>:cache`, …), or empty. */
  clientName: string;
}

/** One `SLOWLOG GET` entry: `[id, unix seconds, micros, [args…], client, name]`. */
export function parseSlowlogEntry(row: unknown): SlowlogEntry {
  const [id, at, micros, args, client, name] = Array.isArray(row) ? (row as unknown[]) : [];
  return {
    id: Number(id),
    at: new Date(Number(at) * 1000).toISOString(),
    durationMicros: Number(micros),
    command: Array.isArray(args) ? args.map(replyText) : [],
    client: replyText(client),
    clientName: replyText(name),
  };
}

export interface LatencyEvent {
  /** The latency monitor's event name: `command`, `fast-command`, `fork`, `aof-fsync-always`, … */
  event: string;
  /** When its latest spike happened (ISO 8601). */
  at: string;
  /** The latest spike, ms. */
  latestMs: number;
  /** The worst spike since the server started or `LATENCY RESET`, ms. */
  maxMs: number;
}

/** One `LATENCY LATEST` row: `[event, unix seconds, latest ms, max ms]` (Redis 7 may add more). */
export function parseLatencyRow(row: unknown): LatencyEvent {
  const [event, at, latest, max] = Array.isArray(row) ? (row as unknown[]) : [];
  return {
    event: replyText(event),
    at: new Date(Number(at) * 1000).toISOString(),
    latestMs: Number(latest),
    maxMs: Number(max),
  };
}

/** `CONFIG GET name` → its value as a number, or null when absent or not a number. */
export function configNumber(reply: unknown): number | null {
  if (!Array.isArray(reply) || reply.length < 2) return null;
  const n = Number(reply[1]);
  return Number.isFinite(n) ? n : null;
}
