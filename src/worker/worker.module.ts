import { Injectable, Logger, Module, OnApplicationBootstrap } from '@nestjs/common';

@Injectable()
class WorkerLifecycle implements OnApplicationBootstrap {
  onApplicationBootstrap(): void {
    new Logger('Worker').log(
      'worker role started: queue processors (QueueModule, processors of src/jobs), counter write-back (CountersModule) and the feed fan-out (FeedModule)',
    );
  }
}

/**
 * The worker role. BullMQ workers run in it (QueueModule with `processors: true`, set by the
 * composition root for this role, for the `@Processor()` providers of src/jobs), counter
 * write-back (CountersModule with `flush: true`) and the activity feed's fan-out consumer
 * (FeedModule with `fanout: true`). It runs in its own process (`APP_ROLE=worker`,
 * `npm run start:worker`) or beside the API (`APP_ROLE=all`).
 */
@Module({ providers: [WorkerLifecycle] })
export class WorkerModule {}
