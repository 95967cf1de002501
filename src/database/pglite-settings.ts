import { PGlite, type PGliteOptions } from '@electric-sql/pglite';

/**
 * PostgreSQL settings for every PGlite the app opens (embedded server, `DATABASE_URL=memory://`,
 * test databases), sized for a development database rather than for PostgreSQL's defaults.
 *
 * `shared_buffers`: initdb writes 128MB, and PGlite allocates and touches all of it inside its
 * WASM heap at start, so the default alone is about 120 MiB of the process's RSS. 16MB (2,048
 * pages) holds this app's development data many times over and keeps PGlite at about 110 MiB
 * instead of about 265 (bench/results/start-profile.md). The WASM heap itself cannot be made
 * smaller: PGlite's module declares 128 MiB as its minimum (`initialMemory` below that fails to
 * link).
 *
 * The per-operation memory caps (`work_mem` for a sort or hash, `maintenance_work_mem` for an
 * index build or VACUUM, `temp_buffers`, `wal_buffers`) matter more here than on a server: a WASM
 * heap grows and never gives memory back, so one operation that used PostgreSQL's default
 * 4 MB per sort node or 64 MB per index build keeps that much of the process's RSS for good.
 * Capped, fresh starts measured 272–321 MiB at ready (medians of three runs 294–303) against
 * 274–355 (medians 316–327) with PostgreSQL's defaults, in alternating starts of the same build
 * (bench/results/start-profile.md). Larger sorts spill to temporary files instead, which a
 * development database hardly ever needs.
 *
 * Passed as `-c` start parameters on top of PGlite's own, so they win over the data directory's
 * `postgresql.conf` without rewriting it.
 */
export const PGLITE_SETTINGS: Readonly<Record<string, string>> = {
  shared_buffers: '16MB',
  work_mem: '1MB',
  maintenance_work_mem: '4MB',
  temp_buffers: '1MB',
  wal_buffers: '256kB',
};

/** PGlite options carrying {@link PGLITE_SETTINGS}, merged into `options`. */
export function pgliteOptions(options: PGliteOptions = {}): PGliteOptions {
  const settings = Object.entries(PGLITE_SETTINGS).flatMap(([name, value]) => [
    '-c',
    `${name}=${value}`,
  ]);
  return {
    ...options,
    startParams: [...(options.startParams ?? PGlite.defaultStartParams), ...settings],
  };
}
