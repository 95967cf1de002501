import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Database } from '../database/database';

const TIMEOUT_MS = 2000;

/** Terminus indicator: `SELECT 1`, bounded so a stuck database answers "down" instead of hanging the probe. */
@Injectable()
export class DatabaseHealthIndicator {
  constructor(
    private readonly db: Database,
    private readonly health: HealthIndicatorService,
  ) {}

  async isHealthy() {
    const indicator = this.health.check('database');
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.db.query('SELECT 1'),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${TIMEOUT_MS} ms`)),
            TIMEOUT_MS,
          );
        }),
      ]);
      return indicator.up({ kind: this.db.kind, latencyMs: Date.now() - started });
    } catch (err) {
      return indicator.down({ kind: this.db.kind, message: (err as Error).message });
    } finally {
      if (timer) clearTimeout(timer);
    }
  }
}
