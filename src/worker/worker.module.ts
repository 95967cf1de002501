import { Injectable, Logger, Module, OnApplicationBootstrap } from '@nestjs/common';

@Injectable()
class WorkerLifecycle implements OnApplicationBootstrap {
  onApplicationBootstrap(): void {
    new Logger('Worker').log(
      'worker role started: counter write-back (CountersModule); queue processors arrive with the queue module',
    );
  }
}

/**
 * The worker role. Counter write-back runs in it (CountersModule with `flush: true`, set by the
 * composition root for this role); BullMQ processors and stream consumers will be added here. It runs in its own process (`APP_ROLE=worker`, `npm run start:worker`) or
 * beside the API (`APP_ROLE=all`).
 */
@Module({ providers: [WorkerLifecycle] })
export class WorkerModule {}
