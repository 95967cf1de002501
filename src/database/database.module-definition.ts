import { ConfigurableModuleBuilder } from '@nestjs/common';

/** Which PostgreSQL: a server (node-postgres) or PGlite in process (a folder, or memory). */
export type DatabaseConnection =
  | { kind: 'pglite'; dataDir: string | null }
  | {
      kind: 'postgres';
      url: string;
      schema: string;
      /** How long a query waits for a pool connection before 503. Default 5 s. */
      connectTimeoutMs?: number;
    };

/**
 * Options of {@link DatabaseModule}.
 *
 * @example
 * DatabaseModule.forRoot({ connection: { kind: 'postgres', url: databaseUrl, schema: 'public' } })
 */
export interface DatabaseModuleOptions {
  connection: DatabaseConnection;
  /** Insert the demo users and pages into an empty database (never in production). Default false. */
  seedDemoData?: boolean;
}

export const {
  ConfigurableModuleClass: DatabaseConfigurableModule,
  MODULE_OPTIONS_TOKEN: DATABASE_MODULE_OPTIONS,
} = new ConfigurableModuleBuilder<DatabaseModuleOptions>({ moduleName: 'Database' })
  .setClassMethodName('forRoot')
  .build();
