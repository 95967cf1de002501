// Public face of the database module.
export * from './database';
export { DatabaseUnavailableError } from './database.errors';
export * from './database.module-definition';
export * from './database.module';
export { migrate, seedDemoData } from './migrator';
export { PgliteDatabase } from './pglite.database';
export { PGLITE_SETTINGS, pgliteOptions } from './pglite-settings';
export {
  pgliteTemplate,
  pgliteTemplateDir,
  pgliteTemplateFile,
  preparePgliteTemplate,
  prepareDataDir,
} from './pglite-template';
export { PostgresDatabase } from './postgres.database';
export { PgliteWireServer, type WireServerLogger } from './pglite-wire-server';
export { startPgliteServer, type PgliteServer } from './pglite-server';
