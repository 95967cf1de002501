/**
 * A counter whose increments are counted in Redis and written back to a database column:
 * `UPDATE <table> SET <column> = <column> + n WHERE <idColumn> = id`.
 */
export interface CounterDefinition {
  /** Name (lower-case, digits, `-`): keys, metrics and batch records use it. */
  name: string;
  table: string;
  idColumn: string;
  column: string;
}

/** What a hit returns: enough to compute the live value together with the database row. */
export interface CounterReading {
  /** increments not yet in the database, for this id */
  pending: number;
  /** increments in the batch being flushed */
  flushing: number;
  /** that batch's id: if the database already recorded it, `flushing` is already in the column */
  flushingBatch: string | null;
}
