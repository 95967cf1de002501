import { PGlite } from '@electric-sql/pglite';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  extractTar,
  pgliteTemplate,
  pgliteTemplateDir,
  prepareDataDir,
  preparePgliteTemplate,
} from './pglite-template';

/** One ustar entry: a 512-byte header (name, mode, size, checksum, type) and the padded body. */
function tarEntry(name: string, body: string, type = '0'): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'latin1');
  header.write('0000644\0', 100, 'latin1');
  header.write(`${Buffer.byteLength(body).toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  header.write(type, 156, 'latin1');
  header.write('ustar\0', 257, 'latin1');
  const data = Buffer.alloc(Math.ceil(Buffer.byteLength(body) / 512) * 512);
  data.write(body);
  return Buffer.concat([header, data]);
}

describe('PGlite template', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nrp-pglite-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('extracts directories and files of a ustar archive', () => {
    const tar = Buffer.concat([
      tarEntry('/base', '', '5'),
      tarEntry('/base/1/PG_VERSION', '18\n'),
      Buffer.alloc(1024),
    ]);
    extractTar(tar, join(dir, 'out'));
    expect(readFileSync(join(dir, 'out/base/1/PG_VERSION'), 'utf8')).toBe('18\n');
  });

  it('refuses an entry that would land outside the data directory', () => {
    const tar = Buffer.concat([tarEntry('../escape', 'x'), Buffer.alloc(1024)]);
    expect(() => extractTar(tar, join(dir, 'out'))).toThrow(/outside the data directory/);
    expect(existsSync(join(dir, 'escape'))).toBe(false);
  });

  it('refuses entry types a data directory does not hold (links)', () => {
    const tar = Buffer.concat([tarEntry('/link', '', '2'), Buffer.alloc(1024)]);
    expect(() => extractTar(tar, join(dir, 'out'))).toThrow(/unsupported tar entry type 2/);
  });

  it('makes a new data directory from the template that PGlite opens and keeps', async () => {
    const dataDir = join(dir, 'pglite');
    await prepareDataDir(dataDir);
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
    expect(existsSync(`${dataDir}.${process.pid}.init`)).toBe(false);
    const db = await PGlite.create(dataDir);
    await db.query('CREATE TABLE kept (v int)');
    await db.query('INSERT INTO kept VALUES (42)');
    await db.close();
    await prepareDataDir(dataDir); // an existing cluster is left alone
    const again = await PGlite.create(dataDir);
    expect((await again.query<{ v: number }>('SELECT v FROM kept')).rows).toEqual([{ v: 42 }]);
    await again.close();
  }, 60_000);

  it('copies new data directories from the template extracted once beside the archive', async () => {
    await preparePgliteTemplate();
    const template = pgliteTemplateDir();
    expect(readFileSync(join(template, 'PG_VERSION'), 'utf8')).toMatch(/^\d+\n$/);
    const files = (d: string) => readdirSync(d, { recursive: true }).map(String).sort();
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    await prepareDataDir(a);
    await prepareDataDir(b);
    expect(files(a)).toEqual(files(template));
    expect(files(b)).toEqual(files(template));
    // Copies, not links: a database writing to its files leaves the template and the other alone.
    const db = await PGlite.create(a);
    await db.query('CREATE TABLE only_in_a (v int)');
    await db.close();
    expect(files(template)).not.toEqual(files(a));
    expect(files(b)).toEqual(files(template));
  }, 60_000);

  it('leaves a non-empty folder that is not a cluster to PGlite (never overwrites files)', async () => {
    const dataDir = join(dir, 'other');
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, 'notes.txt'), 'mine');
    await prepareDataDir(dataDir);
    expect(readFileSync(join(dataDir, 'notes.txt'), 'utf8')).toBe('mine');
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(false);
  });

  it('is one archive per process, read once', async () => {
    const a = await pgliteTemplate();
    expect(await pgliteTemplate()).toBe(a);
    expect(a.byteLength).toBeGreaterThan(1024 * 1024);
  }, 60_000);
});
