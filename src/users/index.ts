export * from './users.module';
export * from './users.service';
export * from './users.repository';
export * from './users.seeder';
export * from './users.dto';
