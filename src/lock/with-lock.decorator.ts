import { SetMetadata } from '@nestjs/common';
import type { KeySource } from '../common';
import type { LockOptions } from './lock.types';

export const WITH_LOCK_METADATA = 'lock:with-lock';

export interface WithLockOptions extends LockOptions {
  /** The resource: `'user:{id}'` from route params on controllers, `'{0}'` from arguments on services, or a function. */
  key: KeySource;
}

/**
 * Runs the method holding a distributed lock on the resource, extending the lease while it
 * runs. Contention → 409 `{ error: 'Resource is being updated' }` (after `wait`, if set); Redis
 * unavailable → 503 (fail closed); lease lost while running → the method's signal
 * (`currentLock().signal`) fires and the call ends with 503 instead of carrying on unprotected.
 *
 * @example
 * @Patch(':id')
 * @WithLock({ key: 'user:{id}', ttl: 10_000 })
 * update(@Param('id', ParseIdPipe) id: number, @Body() dto: UpdateUserDto) { … }
 */
export const WithLock = (options: WithLockOptions | string): MethodDecorator =>
  SetMetadata(WITH_LOCK_METADATA, typeof options === 'string' ? { key: options } : options);
