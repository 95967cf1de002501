// Public face of the lock module.
export * from './lock.types';
export * from './lock.errors';
export * from './lock.module-definition';
export * from './lock.service';
export * from './lock.context';
export * from './with-lock.decorator';
export * from './lock.module';
export * from './lock.constants';
export { LockInterceptor } from './lock.interceptor';
