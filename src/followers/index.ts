export * from './followers.module';
export * from './followers-graph.module';
export * from './followers.service';
