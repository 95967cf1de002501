import type { Activity, FeedEntry } from './feed.types';

/** A raw stream entry as ioredis returns it: `[id, [field, value, …]]`. */
export type RawStreamEntry = [string, string[]];

const ID = /^[1-9]\d{0,9}$/;
const STREAM_ID = /^(\d{1,20})-(\d{1,20})$/;
const MAX_U64 = 2n ** 64n - 1n;
const ACTION = /^[a-z][a-z0-9_.-]{0,63}$/;

/** Fields of a raw entry by name; a field that appears twice keeps its first value, odd tails are dropped. */
export function fieldsOf(flat: unknown): Map<string, string> {
  const map = new Map<string, string>();
  if (!Array.isArray(flat)) return map;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const [k, v] = [flat[i] as unknown, flat[i + 1] as unknown];
    if (typeof k === 'string' && typeof v === 'string' && !map.has(k)) map.set(k, v);
  }
  return map;
}

/** A positive 32-bit id, or null. */
export function idField(value: string | undefined): number | null {
  return value !== undefined && ID.test(value) && Number(value) <= 2_147_483_647
    ? Number(value)
    : null;
}

/** True for a complete stream id (`<ms>-<seq>`, both within 64 bits): what `before` accepts. */
export function isStreamId(value: string): boolean {
  const m = STREAM_ID.exec(value);
  return m !== null && BigInt(m[1]) <= MAX_U64 && BigInt(m[2]) <= MAX_U64;
}

/** Milliseconds part of a stream id. */
export function streamIdMs(id: string): number {
  return Number(id.split('-')[0]);
}

/** The fields a feed entry is stored with (by name; the reader never relies on their order). */
export function feedFields(a: Activity, sourceMs: number): string[] {
  return [
    'action',
    a.action,
    'actorId',
    String(a.actorId),
    'targetId',
    String(a.targetId),
    'ts',
    String(sourceMs),
  ];
}

/**
 * Decodes a feed entry by field name. Unknown fields are ignored; an entry without a usable
 * `action` is skipped (null); a missing or malformed id field reads as null, a malformed `ts`
 * falls back to the entry id's time. Never throws.
 */
export function decodeFeedEntry(raw: unknown): FeedEntry | null {
  if (!Array.isArray(raw) || typeof raw[0] !== 'string') return null;
  const id = raw[0];
  const f = fieldsOf(raw[1]);
  const action = f.get('action');
  if (action === undefined || !ACTION.test(action)) return null;
  const ts = f.get('ts');
  let ms = ts !== undefined && /^\d{1,15}$/.test(ts) ? Number(ts) : streamIdMs(id);
  if (!Number.isFinite(ms) || ms > 8.64e15) ms = 0;
  return {
    id,
    action,
    actorId: idField(f.get('actorId')),
    targetId: idField(f.get('targetId')),
    timestamp: new Date(ms).toISOString(),
  };
}

/** Decodes an activity-stream entry, strictly (actor, action and target required): anything malformed is null (the fan-out dead-letters it). */
export function decodeActivity(fields: unknown): Activity | null {
  const f = fieldsOf(fields);
  const action = f.get('action');
  const actorId = idField(f.get('actorId'));
  const targetId = idField(f.get('targetId'));
  // An action this version does not know is still fanned out (a newer API may record it).
  if (action === undefined || !ACTION.test(action)) return null;
  if (actorId === null || targetId === null) return null;
  return { actorId, action: action as Activity['action'], targetId };
}
