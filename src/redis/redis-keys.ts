import { createHash } from 'node:crypto';

const SAFE_PART = /^[A-Za-z0-9_.@=+-]{1,64}$/;
/** Inside `{…}` a `:` is unambiguous, so hash tags may keep it (`{user:7}`). */
const SAFE_TAG = /^[A-Za-z0-9_.@=+:-]{1,64}$/;

/**
 * Makes one key part safe and bounded: short plain parts stay readable, anything else
 * (user input, serialised arguments, long strings) becomes a 22-character SHA-256 digest.
 */
export function keyPart(part: string | number): string {
  const s = String(part);
  return SAFE_PART.test(s)
    ? s
    : `h.${createHash('sha256').update(s).digest('base64url').slice(0, 22)}`;
}

/**
 * The one key builder: `${prefix}:${namespace}:${id}`. Every module takes its own namespace
 * from the app-wide builder and never writes a key any other way (no ioredis `keyPrefix`: it
 * breaks BullMQ and SCAN).
 *
 * @example
 * const keys = redisKeys.namespace('cache');
 * keys.key('users', 'user:7');                  // nrp:cache:users:user:7
 * keys.tagged('lock', 'user:7');                // nrp:cache:{lock:user:7}
 * keys.tagged('lock', 'user:7', 'fence');       // nrp:cache:{lock:user:7}:fence  (same Cluster slot)
 */
export class RedisKeys {
  readonly base: string;

  constructor(
    readonly prefix: string,
    readonly ns?: string,
  ) {
    this.base = ns ? `${prefix}:${ns}` : prefix;
  }

  namespace(ns: string): RedisKeys {
    if (!/^[a-z][a-z0-9-]*$/.test(ns))
      throw new Error(`Invalid key namespace "${ns}": use lower-case letters, digits and "-"`);
    return new RedisKeys(this.prefix, this.ns ? `${this.ns}:${ns}` : ns);
  }

  /** `${base}:${parts}`, each part passed through {@link keyPart}. */
  key(...parts: (string | number)[]): string {
    return [this.base, ...parts.map(keyPart)].join(':');
  }

  /**
   * A key whose hash slot is decided by `{tag}` alone, so every key built with the same tag
   * lands on one Cluster node and can be used together in a Lua script or MULTI.
   */
  tagged(tag: string, ...parts: (string | number)[]): string {
    const t = SAFE_TAG.test(tag) ? tag : keyPart(tag);
    return [`${this.base}:{${t}}`, ...parts.map(keyPart)].join(':');
  }

  /** A SCAN `MATCH` pattern covering every key of this namespace (glob characters escaped). */
  pattern(suffix = '*'): string {
    return `${this.base.replace(/[*?[\]\\]/g, '\\$&')}:${suffix}`;
  }
}
