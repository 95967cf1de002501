import { Module, Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { getQueueToken } from '@nestjs/bullmq';
import { JobEvents } from './job-events';
import { QueueWorkers } from './queue-workers';
import { QUEUE_NAMES } from './queue.constants';
import { QueueConfigurableModule } from './queue.module-definition';
import { QueueService } from './queue.service';

/** Each queue under @nestjs/bullmq's token, so `@InjectQueue('email')` works as usual. */
const QUEUE_PROVIDERS: Provider[] = QUEUE_NAMES.map((name) => ({
  provide: getQueueToken(name),
  useFactory: (queues: QueueService) => queues.queue(name),
  inject: [QueueService],
}));

/**
 * BullMQ queues `email`, `notification` and `report` on the `state` Redis role (needs
 * RedisModule; metrics exposed with MetricsModule). Producers everywhere (`QueueService.add`,
 * `@InjectQueue`); workers for the app's `@Processor()` providers only with `processors: true`.
 * Not `BullModule.forRoot`: see QueueWorkers for why.
 *
 * @example
 * imports: [QueueModule.forRoot({ prefix: 'shop', processors: role !== 'api', isGlobal: true })]
 *
 * @Processor('report')
 * export class ReportProcessor extends WorkerHost {
 *   async process(job: Job<{ userId: number }>) { return { userId: job.data.userId, … }; }
 * }
 */
@Module({
  imports: [DiscoveryModule],
  providers: [QueueService, QueueWorkers, JobEvents, ...QUEUE_PROVIDERS],
  exports: [QueueService, QueueWorkers, JobEvents, ...QUEUE_PROVIDERS],
})
export class QueueModule extends QueueConfigurableModule {}
