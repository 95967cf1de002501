export * from './database';
export * from './database.module';
export { migrate, seedDemoData } from './migrator';
export { PgliteDatabase } from './pglite.database';
export { PostgresDatabase } from './postgres.database';
