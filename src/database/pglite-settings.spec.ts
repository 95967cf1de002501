import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PgliteDatabase } from './pglite.database';
import { PGLITE_SETTINGS } from './pglite-settings';

describe('PGlite settings', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nrp-pglite-settings-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const showSettings = async (db: PgliteDatabase) => {
    const shown: Record<string, string> = {};
    for (const name of Object.keys(PGLITE_SETTINGS)) {
      const [row] = await db.query<Record<string, string>>(`SHOW ${name}`);
      shown[name] = row[name];
    }
    return shown;
  };

  it('runs an in-memory database with the small-server settings (shared_buffers 16MB)', async () => {
    const db = await PgliteDatabase.open(null);
    try {
      expect(await showSettings(db)).toEqual(PGLITE_SETTINGS);
      expect(PGLITE_SETTINGS.shared_buffers).toBe('16MB');
    } finally {
      await db.close();
    }
  }, 60_000);

  it('runs a database on disk with them, and keeps its data across a restart', async () => {
    const dataDir = join(dir, 'pglite');
    const db = await PgliteDatabase.open(dataDir);
    try {
      expect(await showSettings(db)).toEqual(PGLITE_SETTINGS);
      await db.query('CREATE TABLE kept (v int)');
      await db.query('INSERT INTO kept VALUES (7)');
    } finally {
      await db.close();
    }
    const again = await PgliteDatabase.open(dataDir);
    try {
      expect(await showSettings(again)).toEqual(PGLITE_SETTINGS);
      expect(await again.query('SELECT v FROM kept')).toEqual([{ v: 7 }]);
    } finally {
      await again.close();
    }
  }, 60_000);
});
