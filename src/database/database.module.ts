import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.constants';
import type { AppConfig } from '../config/config.schema';
import { Database } from './database';
import { migrate, seedDemoData } from './migrator';
import { PgliteDatabase } from './pglite.database';
import { PostgresDatabase } from './postgres.database';

/** Opens the database from config, migrates it and (outside production) seeds it. */
export async function openDatabase(
  config: AppConfig,
  logger = new Logger('Database'),
): Promise<Database> {
  const d = config.database;
  const db =
    d.kind === 'postgres'
      ? await PostgresDatabase.open({ url: d.url, schema: d.schema })
      : await PgliteDatabase.open(d.dataDir);
  try {
    const applied = await migrate(db);
    if (applied.length > 0) logger.log(`applied migrations: ${applied.join(', ')}`);
    if (!config.isProduction && (await seedDemoData(db)))
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

@Global()
@Module({
  providers: [
    {
      provide: Database,
      useFactory: (config: AppConfig) => openDatabase(config),
      inject: [APP_CONFIG],
    },
  ],
  exports: [Database],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(Database) private readonly db: Database) {}

  async onApplicationShutdown(): Promise<void> {
    await this.db.close();
  }
}
