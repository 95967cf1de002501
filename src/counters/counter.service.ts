import { Inject, Injectable, Logger, OnModuleInit, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { RateLimitedLogger } from '../common';
import { Database, PG, pgErrorCode } from '../database';
import type { Queryable } from '../database';
import { MetricsService } from '../metrics';
import type { RedisClient } from '../redis';
import { isDisconnected, InjectRedis, RedisKeys, defineScripts, loadLuaScripts } from '../redis';
import { COUNTERS_MODULE_OPTIONS, CountersModuleOptions } from './counters.module-definition';
import { CounterDefinition, CounterReading } from './counters.types';

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Hot counters in Redis, written back to the database in batches.
 *
 * - `hit()` is one script: HINCRBY the pending hash and read what the live value needs.
 * - `flush()` detaches the pending hash under a batch id (RENAME, atomic: increments arriving
 *   meanwhile go to a fresh hash), applies it in one database transaction that also records the
 *   batch id, then deletes the batch. A flusher that dies before the commit leaves the batch for
 *   the next flush; one that dies after the commit leaves a batch the database already recorded,
 *   which the next flush recognises and only deletes. Nothing is lost or counted twice, and
 *   several instances may flush at once.
 */
@Injectable()
export class CounterService implements OnModuleInit {
  private readonly logger = new Logger('Counters');
  /** Fail-open warnings of `tryHit`, at most one per 10 s. */
  private readonly failures = new RateLimitedLogger(this.logger, 10_000);
  private readonly keys: RedisKeys;
  private readonly defs = new Map<string, CounterDefinition>();
  private readonly flushes;
  private readonly hits;
  private readonly lastFlush;

  constructor(
    @InjectRedis('state') private readonly redis: RedisClient,
    private readonly db: Database,
    keys: RedisKeys,
    @Optional() metrics: MetricsService = MetricsService.standalone(),
    @Inject(COUNTERS_MODULE_OPTIONS) options: CountersModuleOptions,
  ) {
    this.keys = keys.namespace('counters');
    for (const d of options.counters) {
      if (
        !/^[a-z][a-z0-9-]{0,31}$/.test(d.name) ||
        ![d.table, d.idColumn, d.column].every((i) => IDENT.test(i))
      ) {
        throw new Error(
          `Invalid counter definition ${JSON.stringify(d)}: names must be lower-case identifiers`,
        );
      }
      this.defs.set(d.name, d);
    }
    this.hits = metrics.counter({
      name: 'counter_hits_total',
      help: 'Counter increments by result (error: Redis unavailable, not counted)',
      labelNames: ['counter', 'result'],
    });
    this.flushes = metrics.counter({
      name: 'counter_flush_total',
      help: 'Counter flushes by result',
      labelNames: ['counter', 'result'],
    });
    this.lastFlush = metrics.gauge({
      name: 'counter_flush_last_success_timestamp_seconds',
      help: 'When a flush of the counter last completed (everything detached up to then is in the database), in Unix seconds; set by the flushing process at each completed flush',
      labelNames: ['counter'],
    });
  }

  onModuleInit(): void {
    defineScripts(this.redis, loadLuaScripts(join(__dirname, 'lua')));
  }

  /** `{counter}` hash tag: the pending hash and the batch share a slot (RENAME needs it). */
  pendingKey(counter: string): string {
    return this.keys.tagged(counter, 'pending');
  }

  flushingKey(counter: string): string {
    return this.keys.tagged(counter, 'flushing');
  }

  /**
   * {@link hit} that fails open: when Redis cannot be reached the event is not counted (it is
   * counted in `counter_hits_total{result="error"}` instead) and the reading is empty, so the
   * caller serves the database value.
   */
  async tryHit(counter: string, id: string | number, by = 1): Promise<CounterReading> {
    try {
      if (isDisconnected(this.redis)) throw new Error(`connection is ${this.redis.status}`);
      const r = await this.hit(counter, id, by);
      this.hits.inc({ counter, result: 'ok' });
      return r;
    } catch (err) {
      this.hits.inc({ counter, result: 'error' });
      this.failures.warn(
        `${counter}: not counted, Redis unavailable (fail open): ${(err as Error).message}`,
      );
      return { pending: 0, flushing: 0, flushingBatch: null };
    }
  }

  /** Adds `by` (default 1; 0 only reads) and returns the Redis side of the live value. */
  async hit(counter: string, id: string | number, by = 1): Promise<CounterReading> {
    this.def(counter);
    const [pending, flushing, flushingBatch] = await this.redis.counterHit(
      this.pendingKey(counter),
      this.flushingKey(counter),
      String(id),
      by,
    );
    return { pending, flushing, flushingBatch };
  }

  /**
   * The live value of a counted row, from a {@link hit} reading: the row's database value
   * (`valueOf(row)`) plus the increments not yet in it. `read` loads the row (null: no such row)
   * on the connection it is given. When the reading saw a batch being flushed, the row and
   * whether the database already applied that batch are read in one snapshot (a REPEATABLE READ
   * transaction), so the live value neither misses nor double-counts a batch whose flush
   * commits meanwhile; otherwise the row is read alone.
   *
   * @example
   * const reading = await counters.tryHit('page-views', id);
   * const found = await counters.readLive(reading, (db) => pages.findById(id, db), (p) => p.views);
   * if (found) return { ...found.row, views: found.live };
   */
  async readLive<T>(
    reading: CounterReading,
    read: (db: Queryable) => Promise<T | null>,
    valueOf: (row: T) => number,
  ): Promise<{ row: T; live: number } | null> {
    const batch = reading.flushingBatch;
    if (batch === null) {
      const row = await read(this.db);
      return row === null ? null : { row, live: valueOf(row) + reading.pending };
    }
    return this.db.transaction(async (tx) => {
      await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      const row = await read(tx);
      if (row === null) return null;
      const [{ applied }] = await tx.query<{ applied: boolean }>(
        'SELECT EXISTS (SELECT 1 FROM counter_flushes WHERE batch_id = $1) AS applied',
        [batch],
      );
      return { row, live: valueOf(row) + reading.pending + (applied ? 0 : reading.flushing) };
    });
  }

  /** Flushes every counter; returns how many increments were written. */
  async flushAll(): Promise<number> {
    let total = 0;
    for (const name of this.defs.keys()) total += await this.flush(name);
    return total;
  }

  /** Writes pending increments of one counter to the database. Safe to run concurrently. */
  async flush(counter: string): Promise<number> {
    let written = 0;
    // A leftover batch first, then the current pending increments: at most two rounds.
    for (let round = 0; round < 2; round++) {
      const batch = await this.detach(counter);
      if (!batch) break;
      try {
        written += await this.apply(counter, batch.id);
        await this.finish(counter, batch.id);
        this.flushes.inc({ counter, result: 'ok' });
      } catch (err) {
        this.flushes.inc({ counter, result: 'error' });
        throw err;
      }
      if (!batch.existing) break;
    }
    this.lastFlush.setToCurrentTime({ counter });
    return written;
  }

  /** Step 1: moves pending increments aside under a batch id (or returns a leftover batch). */
  async detach(counter: string): Promise<{ id: string; existing: boolean } | null> {
    const r = await this.redis.counterDetach(
      this.pendingKey(counter),
      this.flushingKey(counter),
      randomUUID(),
    );
    return r ? { id: r[0], existing: r[1] === 1 } : null;
  }

  /** Step 2: applies the batch in one transaction that records its id; 0 if it was applied before. */
  async apply(counter: string, batchId: string): Promise<number> {
    const d = this.def(counter);
    const raw = await this.redis.hgetall(this.flushingKey(counter));
    if (raw.__batch !== batchId) return 0; // finished by another flusher meanwhile
    const ids: number[] = [];
    const deltas: number[] = [];
    for (const [id, n] of Object.entries(raw)) {
      if (id === '__batch' || Number(n) === 0) continue;
      ids.push(Number(id));
      deltas.push(Number(n));
    }
    try {
      await this.db.transaction(async (tx) => {
        await tx.query('INSERT INTO counter_flushes (batch_id, counter) VALUES ($1, $2)', [
          batchId,
          counter,
        ]);
        if (ids.length > 0) {
          await tx.query(
            `UPDATE ${d.table} t SET ${d.column} = t.${d.column} + v.n
             FROM unnest($1::int[], $2::bigint[]) AS v(id, n) WHERE t.${d.idColumn} = v.id`,
            [ids, deltas],
          );
        }
      });
    } catch (err) {
      if (pgErrorCode(err) === PG.uniqueViolation) {
        this.logger.warn(
          `${counter} batch ${batchId} was already applied (a flusher died after its commit): deleting it`,
        );
        return 0;
      }
      throw err;
    }
    return deltas.reduce((a, b) => a + b, 0);
  }

  /** Step 3: deletes the applied batch (owner-checked). */
  async finish(counter: string, batchId: string): Promise<void> {
    await this.redis.counterFinish(this.flushingKey(counter), batchId);
  }

  /** Forgets applied batch ids older than a week (they only guard against retries of recent batches). */
  async prune(): Promise<void> {
    await this.db.query(`DELETE FROM counter_flushes WHERE applied_at < now() - interval '7 days'`);
  }

  private def(counter: string): CounterDefinition {
    const d = this.defs.get(counter);
    if (!d)
      throw new Error(
        `Unknown counter "${counter}": declare it in CountersModule.forRoot({ counters })`,
      );
    return d;
  }
}
