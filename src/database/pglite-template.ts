import { PGlite } from '@electric-sql/pglite';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { pgliteOptions } from './pglite-settings';

/**
 * A prepared, empty PGlite cluster (what initdb produces), so that a new database does not run
 * initdb in process. initdb is most of PGlite's start: about 4 s and 800 MiB of RSS for a fresh
 * cluster against about 1.5 s and 350 MiB when a prepared one is loaded (bench/results/start-profile.md).
 *
 * The template is PGlite's own `dumpDataDir()` tarball of a cluster nobody has used, kept in
 * `node_modules/.cache/nest-redis-patterns/` under the PGlite version (initdb's output depends
 * only on it). It is made the first time it is needed (or by `npm run build`), written
 * atomically, and read once per process. When the cache cannot be written (a read-only
 * node_modules), the template is still made in memory for this process.
 *
 * A data directory on disk is copied from the same cluster extracted once beside the archive
 * (`pglite-<version>-initdb/`, by `extractTar`, so with the same checks): the kernel copies the
 * 40 MB file by file, and the process never holds the archive (reading it kept 40 MB of RSS until
 * the next garbage collection, and copying it byte by byte cost about 0.25 s). In-memory
 * databases (tests) load the archive itself.
 */
let template: Promise<Uint8Array> | undefined;

/** Where the template is cached: `node_modules/.cache/nest-redis-patterns/pglite-<version>-initdb.tar`. */
export function pgliteTemplateFile(): string {
  // The package's exports hide package.json: walk up from its entry point to …/@electric-sql/pglite.
  let dir = dirname(require.resolve('@electric-sql/pglite'));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  if (pkg.name !== '@electric-sql/pglite') throw new Error('PGlite package not found');
  // …/node_modules/@electric-sql/pglite → …/node_modules/.cache/nest-redis-patterns/
  const nodeModules = dirname(dirname(dir));
  return join(nodeModules, '.cache', 'nest-redis-patterns', `pglite-${pkg.version}-initdb.tar`);
}

/** The same cluster extracted: `…/pglite-<version>-initdb/` beside the archive. */
export function pgliteTemplateDir(): string {
  return pgliteTemplateFile().replace(/\.tar$/, '');
}

async function makeTemplate(): Promise<Uint8Array> {
  const db = await PGlite.create('memory://');
  try {
    const dump = await db.dumpDataDir('none');
    return new Uint8Array(await dump.arrayBuffer());
  } finally {
    await db.close();
  }
}

/** The template tarball from the cache file, or made (and cached) now. */
async function readOrMakeTemplate(): Promise<Uint8Array> {
  let file: string | undefined;
  try {
    file = pgliteTemplateFile();
    if (existsSync(file)) return readFileSync(file); // the Buffer: no copy of the 40 MB
  } catch {
    // no readable cache: make one below
  }
  const bytes = await makeTemplate();
  if (file) {
    try {
      mkdirSync(dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, bytes);
      renameSync(tmp, file); // atomic: a concurrent reader sees no file or all of it
    } catch {
      // read-only node_modules: this process keeps its copy in memory
    }
  }
  return bytes;
}

/** The template tarball, read once per process and kept (for processes that open many databases: tests). */
export function pgliteTemplate(): Promise<Uint8Array> {
  template ??= readOrMakeTemplate();
  return template;
}

/**
 * The template directory, extracted from the archive the first time (to a sibling folder,
 * renamed into place: a concurrent reader sees no directory or all of it). Undefined when the
 * cache cannot be written.
 */
async function templateDir(): Promise<string | undefined> {
  let dir: string;
  try {
    dir = pgliteTemplateDir();
    if (existsSync(join(dir, 'PG_VERSION'))) return dir;
  } catch {
    return undefined;
  }
  const tmp = `${dir}.${process.pid}.tmp`;
  try {
    // Not kept: a process opens one data directory on disk, and the archive is 40 MB.
    extractTar(await (template ?? readOrMakeTemplate()), tmp);
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // read-only, or another process was first
  }
  return existsSync(join(dir, 'PG_VERSION')) ? dir : undefined;
}

/** Makes the template archive and directory if they are missing (`npm run build`). */
export async function preparePgliteTemplate(): Promise<void> {
  await pgliteTemplate();
  await templateDir();
}

/** A new in-memory PGlite, loaded from the template instead of running initdb. */
export async function createMemoryPglite(): Promise<PGlite> {
  const bytes = await pgliteTemplate();
  return PGlite.create('memory://', pgliteOptions({ loadDataDir: new Blob([bytes]) }));
}

/**
 * Makes `dataDir` a new PostgreSQL data directory from the template when it holds none yet
 * (no `PG_VERSION`); leaves an existing one alone. The files are copied from the template
 * directory (or, when the cache is read-only, extracted from the archive) to a sibling folder
 * and renamed into place, so a process killed half way leaves no half-made cluster behind.
 */
export async function prepareDataDir(dataDir: string): Promise<void> {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) return; // not ours: let PGlite say
  const staging = `${dataDir}.${process.pid}.init`;
  rmSync(staging, { recursive: true, force: true });
  const source = await templateDir();
  try {
    if (source) cpSync(source, staging, { recursive: true });
    else extractTar(await (template ?? readOrMakeTemplate()), staging);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  rmSync(dataDir, { recursive: true, force: true }); // empty (checked above)
  mkdirSync(dirname(dataDir), { recursive: true });
  renameSync(staging, dataDir);
}

/** Extracts a ustar archive (directories and regular files: what `dumpDataDir` writes). */
export function extractTar(bytes: Uint8Array, into: string): void {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const root = normalize(into);
  mkdirSync(root, { recursive: true });
  const field = (at: number, len: number) =>
    buf.toString('latin1', at, at + len).replace(/\0.*$/s, '');
  let off = 0;
  while (off + 512 <= buf.length) {
    const name = field(off, 100);
    if (name === '') break; // end-of-archive blocks
    const size = parseInt(field(off + 124, 12).trim() || '0', 8);
    const type = field(off + 156, 1) || '0';
    const prefix = field(off + 257, 6).startsWith('ustar') ? field(off + 345, 155) : '';
    const rel = (prefix ? `${prefix}/${name}` : name).replace(/^\/+/, '');
    const target = normalize(join(root, rel));
    if (target !== root && !target.startsWith(root + sep))
      throw new Error(`PGlite template: entry ${rel} is outside the data directory`);
    const body = off + 512;
    if (type === '5') mkdirSync(target, { recursive: true });
    else if (type === '0') {
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, buf.subarray(body, body + size));
    } else throw new Error(`PGlite template: unsupported tar entry type ${type} (${rel})`);
    off = body + Math.ceil(size / 512) * 512;
  }
}
