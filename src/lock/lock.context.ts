import { AsyncLocalStorage } from 'node:async_hooks';
import type { LockScope } from './lock.types';

const storage = new AsyncLocalStorage<LockScope>();

/**
 * The lock of the operation running now (set by `@WithLock` and `LockService.using`), so code
 * deeper in the call (a repository) can send the fencing token with its write or stop on the
 * signal without threading them through every signature.
 *
 * @example
 * const lock = currentLock();
 * await repo.update(id, patch, lock?.fencingToken);
 */
export function currentLock(): LockScope | undefined {
  return storage.getStore();
}

export function runWithLock<T>(scope: LockScope, fn: () => T): T {
  return storage.run(scope, fn);
}
