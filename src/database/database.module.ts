import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { Database } from './database';
import {
  DATABASE_MODULE_OPTIONS,
  DatabaseConfigurableModule,
  DatabaseModuleOptions,
} from './database.module-definition';
import { migrate, seedDemoData } from './migrator';
import { PgliteDatabase } from './pglite.database';
import { PostgresDatabase } from './postgres.database';

/** Opens the database, migrates it and (when asked: development) seeds it. */
export async function openDatabase(
  options: DatabaseModuleOptions,
  logger = new Logger('Database'),
): Promise<Database> {
  const d = options.connection;
  const db =
    d.kind === 'postgres'
      ? await PostgresDatabase.open({
          url: d.url,
          schema: d.schema,
          connectTimeoutMs: d.connectTimeoutMs,
        })
      : await PgliteDatabase.open(d.dataDir);
  try {
    const applied = await migrate(db);
    if (applied.length > 0) logger.log(`applied migrations: ${applied.join(', ')}`);
    if (options.seedDemoData && (await seedDemoData(db)))
      logger.log('seeded demo users and pages (ids 1-3)');
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  logger.log(
    d.kind === 'postgres'
      ? `PostgreSQL (schema ${d.schema})`
      : `PGlite ${d.dataDir ?? 'in memory'}`,
  );
  return db;
}

/**
 * The global database (`Database`: PGlite in process or a PostgreSQL server), opened, migrated
 * and optionally seeded at start, closed at shutdown.
 */
@Global()
@Module({
  providers: [
    {
      provide: Database,
      useFactory: (options: DatabaseModuleOptions) => openDatabase(options),
      inject: [DATABASE_MODULE_OPTIONS],
    },
  ],
  exports: [Database],
})
export class DatabaseModule extends DatabaseConfigurableModule implements OnApplicationShutdown {
  constructor(@Inject(Database) private readonly db: Database) {
    super();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.db.close();
  }
}
