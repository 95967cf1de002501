import type { LoggerService } from '@nestjs/common';

/**
 * Writes at most one message per `intervalMs` and drops the others, counting them: the next
 * message that gets through says how many were dropped (`… (3 similar errors suppressed)`).
 * For failures that repeat on every request or retry while a dependency is down (a fail-open
 * cache, rate limiter or counter; a reconnecting Redis client), so an outage logs a line every
 * interval instead of one per call.
 *
 * @example
 * private readonly failures = new RateLimitedLogger(new Logger('Cache'), 10_000);
 * this.failures.warn(`cache read failed, serving from the source (fail open): ${err.message}`);
 */
export class RateLimitedLogger {
  private lastWrittenAt?: number;
  private suppressed = 0;

  constructor(
    private readonly logger: Pick<LoggerService, 'warn' | 'error'>,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Writes `message` at warn level unless a message was written within the interval. */
  warn(message: string): boolean {
    return this.write('warn', message);
  }

  /** Writes `message` at error level unless a message was written within the interval. */
  error(message: string): boolean {
    return this.write('error', message);
  }

  private write(level: 'warn' | 'error', message: string): boolean {
    const now = this.now();
    if (this.lastWrittenAt !== undefined && now - this.lastWrittenAt < this.intervalMs) {
      this.suppressed += 1;
      return false;
    }
    const extra = this.suppressed > 0 ? ` (${this.suppressed} similar errors suppressed)` : '';
    this.lastWrittenAt = now;
    this.suppressed = 0;
    this.logger[level](`${message}${extra}`);
    return true;
  }
}
