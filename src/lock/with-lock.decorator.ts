import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import type { KeySource } from '../common';
import { WITH_LOCK_METADATA } from './lock.constants';
import { WithLockRouteInterceptor } from './lock.interceptor';
import type { LockOptions } from './lock.types';

export { WITH_LOCK_METADATA };

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
 * On a provider method the key comes from the arguments (`'{0}'`) and the lock is taken when
 * the method is called (after the route's pipes validated its input). On a route — or a
 * controller class, for all its routes — the key comes from route params, and the lock is a
 * route-scoped interceptor: inside global interceptors (a cache hit never takes it) but before
 * the route's pipes, so use a constant key there or lock a service method instead.
 *
 * @example
 * @WithLock({ key: 'user:{0}', ttl: 10_000 })
 * async update(id: number, dto: UpdateUserDto) { … }   // in a service
 */
export const WithLock = (options: WithLockOptions | string): MethodDecorator & ClassDecorator =>
  applyDecorators(
    SetMetadata(WITH_LOCK_METADATA, typeof options === 'string' ? { key: options } : options),
    UseInterceptors(WithLockRouteInterceptor),
  );
