import { Algorithm, hash, verify } from '@node-rs/argon2';

/**
 * Password hashing: argon2id with OWASP's parameters (19 MiB, 2 iterations, 1 lane; about 50 ms
 * here), as a PHC string that carries its own parameters and salt, so they can be raised later
 * without invalidating stored hashes. argon2id (memory-hard) over scrypt because it is the
 * first choice of the OWASP Password Storage Cheat Sheet and `@node-rs/argon2` ships prebuilt
 * (no compiler at install).
 */
const OPTIONS = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export async function verifyPassword(phc: string, password: string): Promise<boolean> {
  try {
    return await verify(phc, password);
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
