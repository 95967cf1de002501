export * from './cache.constants';
export * from './cache.types';
export * from './cache.decorators';
export * from './cache.service';
export * from './cache.module';
export { CacheSerializationError } from './cache-serializer';
export { CacheInterceptor } from './cache.interceptor';
export { stableStringify } from '../common/method-keys';
