// Public face of the cache module: import from '../cache', never from its files.
export * from './cache.constants';
export * from './cache.types';
export * from './cache.decorators';
export * from './cache.module-definition';
export * from './cache.service';
export * from './cache.module';
export { CacheSerializationError, deserialize, serialize } from './cache-serializer';
export { CacheInterceptor } from './cache.interceptor';
export { formatEnvelope, parseEnvelope } from './cache-store';
