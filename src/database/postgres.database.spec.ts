import { createServer, Server, Socket } from 'node:net';
import { freePort } from '../redis';
import { DatabaseUnavailableError } from './database.errors';
import { PostgresDatabase } from './postgres.database';

/** Connection-level failures answer 503 (DatabaseUnavailableError), never a 500. */
describe('PostgresDatabase when the server cannot be reached', () => {
  let silent: Server;
  const sockets: Socket[] = [];
  let silentPort: number;

  beforeAll(async () => {
    // Accepts TCP connections and never answers the startup message: an overloaded server.
    silent = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    silentPort = (silent.address() as { port: number }).port;
  });
  afterAll(async () => {
    sockets.forEach((s) => s.destroy());
    await new Promise<void>((r) => silent.close(() => r()));
  });

  it('no connection within the connect timeout → DatabaseUnavailableError (503, Retry-After)', async () => {
    const db = await PostgresDatabase.open({
      url: `postgres://postgres@127.0.0.1:${silentPort}/test`,
      schema: 'public',
      connectTimeoutMs: 300,
    });
    try {
      const err = await db.query('SELECT 1').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DatabaseUnavailableError);
      expect((err as DatabaseUnavailableError).getStatus()).toBe(503);
      expect((err as DatabaseUnavailableError).headers).toEqual({ 'Retry-After': '1' });
      await expect(db.transaction(async () => 1)).rejects.toBeInstanceOf(DatabaseUnavailableError);
    } finally {
      await db.close();
    }
  });

  it('connection refused → DatabaseUnavailableError', async () => {
    const db = await PostgresDatabase.open({
      url: `postgres://postgres@127.0.0.1:${await freePort()}/test`,
      schema: 'public',
    });
    try {
      await expect(db.query('SELECT 1')).rejects.toBeInstanceOf(DatabaseUnavailableError);
    } finally {
      await db.close();
    }
  });
});
