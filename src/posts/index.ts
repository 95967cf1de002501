export * from './posts.module';
export * from './posts.repository';
export * from './recent-posts.cache';
export * from './posts.dto';
