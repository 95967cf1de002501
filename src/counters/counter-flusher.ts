import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { CounterService } from './counter.service';
import { COUNTERS_MODULE_OPTIONS, CountersModuleOptions } from './counters.module-definition';

const DEFAULT_FLUSH_INTERVAL_MS = 5_000;

/** In the process that flushes (`flush: true`, the worker role): every `flushIntervalMs` and once more on shutdown. */
@Injectable()
export class CounterFlusher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('CounterFlusher');
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    private readonly counters: CounterService,
    @Inject(COUNTERS_MODULE_OPTIONS) private readonly options: CountersModuleOptions,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.options.flush) return;
    this.timer = setInterval(
      () => void this.tick(),
      this.options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS,
    );
    this.timer.unref();
  }

  /** Before Redis and the database close (they do in onApplicationShutdown). */
  async beforeApplicationShutdown(): Promise<void> {
    if (!this.timer) return;
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
    await this.tick();
  }

  private async tick(): Promise<void> {
    if (this.running) return; // one flush at a time in this process
    this.running = this.counters
      .flushAll()
      .then(() => this.counters.prune())
      .catch((err: Error) => this.logger.warn(`flush failed, will retry: ${err.message}`))
      .finally(() => (this.running = undefined));
    await this.running;
  }
}
