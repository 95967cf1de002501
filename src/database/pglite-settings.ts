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
 * Passed as `-c` start parameters on top of PGlite's own, so they win over the data directory's
 * `postgresql.conf` without rewriting it.
 */
export const PGLITE_SETTINGS: Readonly<Record<string, string>> = {
  shared_buffers: '16MB',
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
