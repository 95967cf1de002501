import { Injectable, Logger, Module, OnApplicationBootstrap } from '@nestjs/common';

@Injectable()
class WorkerLifecycle implements OnApplicationBootstrap {
  onApplicationBootstrap(): void {
    new Logger('Worker').log('worker role started (no processors registered yet)');
  }
}

/**
 * The worker role: BullMQ processors, stream consumers and counter flushing are added here by
 * later modules. It runs in its own process (`APP_ROLE=worker`, `npm run start:worker`) or
 * beside the API (`APP_ROLE=all`).
 */
@Module({ providers: [WorkerLifecycle] })
export class WorkerModule {}
