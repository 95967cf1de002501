export * from './posts.module';
export * from './posts.repository';
export * from './posts.cache';
export * from './posts.dto';
