import { Injectable, Logger, Module, OnApplicationBootstrap } from '@nestjs/common';

@Injectable()
class WorkerLifecycle implements OnApplicationBootstrap {
  onApplicationBootstrap(): void {
    new Logger('Worker').log(
      'worker role started: queue processors (QueueModule, processors of src/jobs) and counter write-back (CountersModule)',
    );
  }
}

/**
 * The worker role. BullMQ workers run in it (QueueModule with `processors: true`, set by the
 * composition root for this role, for the `@Processor()` providers of src/jobs) and counter
 * write-back (CountersModule with `flush: true`). It runs in its own process (`APP_ROLE=worker`,
 * `npm run start:worker`) or beside the API (`APP_ROLE=all`).
 */
@Module({ providers: [WorkerLifecycle] })
export class WorkerModule {}
