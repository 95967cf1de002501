import { Module } from '@nestjs/common';
import { CounterFlusher } from './counter-flusher';
import { CounterService } from './counter.service';
import { CountersConfigurableModule } from './counters.module-definition';

/**
 * Counters with write-back (`CounterService`). The application declares the counters and
 * whether this process flushes them (the worker role does). Needs `RedisModule` (role `state`),
 * `DatabaseModule` and `MetricsModule`.
 *
 * @example
 * CountersModule.forRoot({ counters: [{ name: 'page-views', table: 'pages', idColumn: 'id', column: 'views' }], flush: true })
 */
@Module({
  providers: [CounterService, CounterFlusher],
  exports: [CounterService],
})
export class CountersModule extends CountersConfigurableModule {}
