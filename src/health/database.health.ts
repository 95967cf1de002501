import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Database } from '../database';
import { withDeadline } from './deadline';

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
    try {
      await withDeadline(this.db.query('SELECT 1'));
      return indicator.up({ kind: this.db.kind, latencyMs: Date.now() - started });
    } catch (err) {
      return indicator.down({ kind: this.db.kind, message: (err as Error).message });
    }
  }
}
