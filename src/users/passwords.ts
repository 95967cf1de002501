import { Algorithm, hash, verify } from '@node-rs/argon2';
import { availableParallelism } from 'node:os';

/**
 * Password hashing: argon2id with OWASP's parameters (19 MiB, 2 iterations, 1 lane; about 50 ms
 * here), as a PHC string that carries its own parameters and salt, so they can be raised later
 * without invalidating stored hashes. argon2id (memory-hard) over scrypt because it is the
 * first choice of the OWASP Password Storage Cheat Sheet and `@node-rs/argon2` ships prebuilt
 * (no compiler at install).
 */
const OPTIONS = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/**
 * At most one hash or verification per core at a time; the rest wait their turn (FIFO). Each
 * costs ~50 ms of CPU on a pool thread: a burst of sign-ups or logins left unbounded runs as
 * many at once as the thread pool allows, and on a small machine starves the event loop — the
 * database and Redis connections time out for every other request meanwhile.
 */
const MAX_CONCURRENT = Math.max(1, availableParallelism());
let running = 0;
const waiting: (() => void)[] = [];

async function bounded<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT) await new Promise<void>((r) => waiting.push(r));
  else running++;
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

export function hashPassword(password: string): Promise<string> {
  return bounded(() => hash(password, OPTIONS));
}

export async function verifyPassword(phc: string, password: string): Promise<boolean> {
  try {
    return await bounded(() => verify(phc, password));
  } catch {
    return false; // a malformed stored hash never verifies
  }
}

/**
 * A hash of a random password, verified when the email is unknown or has no password, so a
 * failed login costs the same work either way (no user enumeration by timing).
 */
let decoy: Promise<string> | undefined;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(`decoy-${Math.random()}-${Date.now()}`);
  return decoy;
}
