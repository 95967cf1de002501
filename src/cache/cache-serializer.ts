/**
 * JSON with Dates that survive the round trip. A value JSON cannot represent faithfully
 * (BigInt, a circular structure, a function or symbol at the top) is refused with
 * {@link CacheSerializationError} at the call site instead of becoming a corrupt entry.
 */
export class CacheSerializationError extends Error {
  constructor(key: string, reason: string) {
    super(
      `Cannot cache the value for "${key}": ${reason}. Return plain JSON data (objects, arrays, strings, numbers, booleans, null, Dates).`,
    );
    this.name = 'CacheSerializationError';
  }
}

const DATE_TAG = '$date';
/** How a Date tag appears in serialised text: text without it needs no reviver. */
export const DATE_TAG_TEXT = `"${DATE_TAG}"`;

export function serialize(key: string, value: unknown): string {
  const t = typeof value;
  if (t === 'function' || t === 'symbol')
    throw new CacheSerializationError(key, `a ${t} is not data`);
  try {
    return JSON.stringify(value, function (this: Record<string, unknown>, k: string, v: unknown) {
      const raw = this[k];
      if (raw instanceof Date)
        return { [DATE_TAG]: Number.isNaN(raw.getTime()) ? null : raw.toISOString() };
      return v;
    });
  } catch (err) {
    throw new CacheSerializationError(key, (err as Error).message);
  }
}

export function deserialize<T>(text: string): T {
  return JSON.parse(text, (_k, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      if (keys.length === 1 && keys[0] === DATE_TAG)
        return o[DATE_TAG] === null ? new Date(NaN) : new Date(o[DATE_TAG] as string);
    }
    return v;
  }) as T;
}
