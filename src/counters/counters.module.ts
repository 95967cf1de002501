import { DynamicModule, Global, Module } from '@nestjs/common';
import { CounterFlusher } from './counter-flusher';
import { CounterService } from './counter.service';
import { COUNTERS_OPTIONS, CountersOptions } from './counters.types';

/**
 * Counters with write-back (`CounterService`). The composition root declares the counters and
 * whether this process flushes them (the worker role does).
 *
 * @example
 * CountersModule.forRoot({ counters: [{ name: 'page-views', table: 'pages', idColumn: 'id', column: 'views' }], flush: true })
 */
@Global()
@Module({})
export class CountersModule {
  static forRoot(options: CountersOptions): DynamicModule {
    return {
      module: CountersModule,
      providers: [{ provide: COUNTERS_OPTIONS, useValue: options }, CounterService, CounterFlusher],
      exports: [CounterService],
    };
  }
}
