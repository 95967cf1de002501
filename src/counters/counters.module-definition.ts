import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { CounterDefinition } from './counters.types';

/**
 * Options of {@link CountersModule}.
 *
 * @example
 * CountersModule.forRoot({
 *   counters: [{ name: 'page-views', table: 'pages', idColumn: 'id', column: 'views' }],
 *   flush: true,
 *   flushIntervalMs: 5_000,
 * })
 */
export interface CountersModuleOptions {
  counters: CounterDefinition[];
  /** Run the periodic write-back in this process (the worker role). Default false. */
  flush?: boolean;
  /** How often pending increments are written to the database. Default 5 s. */
  flushIntervalMs?: number;
}

export const {
  ConfigurableModuleClass: CountersConfigurableModule,
  MODULE_OPTIONS_TOKEN: COUNTERS_MODULE_OPTIONS,
} = new ConfigurableModuleBuilder<CountersModuleOptions>({ moduleName: 'Counters' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
