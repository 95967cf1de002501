export * from './followers.module';
export * from './followers.service';
