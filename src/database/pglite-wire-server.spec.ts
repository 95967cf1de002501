import { PGlite } from '@electric-sql/pglite';
import { Logger } from '@nestjs/common';
import { Socket } from 'node:net';
import { Client } from 'pg';
import { BackendStatusTracker, PgliteWireServer } from './pglite-wire-server';

/** Raw frontend messages, for what `pg` never sends on its own (a half-finished unit). */
function frontend(type: string, body: string): Buffer {
  const b = Buffer.from(body, 'utf8');
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(b.length + 4, 1);
  return Buffer.concat([head, b]);
}

function startupMessage(): Buffer {
  const params = Buffer.from('user\0postgres\0database\0postgres\0\0');
  const head = Buffer.alloc(8);
  head.writeInt32BE(params.length + 8, 0);
  head.writeInt32BE(196608, 4);
  return Buffer.concat([head, params]);
}

/** Connects a raw socket, reads until `until` holds for the bytes received so far. */
async function rawExchange(
  port: number,
  send: Buffer,
  until: (received: Buffer) => boolean,
): Promise<{ socket: Socket; received: Buffer }> {
  const socket = new Socket();
  let received = Buffer.alloc(0);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(port, '127.0.0.1', () => resolve());
  });
  const done = new Promise<void>((resolve) => {
    socket.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d]);
      if (until(received)) resolve();
    });
  });
  socket.write(send);
  await done;
  return { socket, received };
}

/** Splits backend output into messages; DataRow's first column as text. */
function backendMessages(out: Buffer): { type: string; firstColumn?: string | null }[] {
  const messages: { type: string; firstColumn?: string | null }[] = [];
  let i = 0;
  while (i + 5 <= out.length) {
    const type = String.fromCharCode(out[i]);
    const length = out.readInt32BE(i + 1);
    if (i + 1 + length > out.length) break;
    const body = out.subarray(i + 5, i + 1 + length);
    if (type === 'D') {
      const n = body.readInt32BE(2);
      messages.push({ type, firstColumn: n < 0 ? null : body.subarray(6, 6 + n).toString() });
    } else {
      messages.push({ type });
    }
    i += 1 + length;
  }
  return messages;
}

const endsWithReadyForQuery = (b: Buffer) => b.length >= 6 && b[b.length - 6] === 0x5a;

describe('PgliteWireServer', () => {
  let db: PGlite;
  let server: PgliteWireServer;
  const clients: Client[] = [];
  const connect = async (): Promise<Client> => {
    const c = new Client({ connectionString: server.url });
    c.on('error', () => undefined);
    await c.connect();
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    db = await PGlite.create('memory://');
    server = await new PgliteWireServer(db, { logger: new Logger('PgliteWireServer') }).start();
    await db.exec('CREATE TABLE items (name text NOT NULL)');
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end().catch(() => undefined)));
    await db.exec('DELETE FROM items');
  });

  afterAll(async () => {
    await server.stop();
    await db.close();
  });

  it('gives each of several clients running different parameterized queries at once its own results', async () => {
    const shapes = [
      { sql: 'SELECT $1::int * 2 AS v', param: (i: number) => i, expected: (i: number) => i * 2 },
      {
        sql: "SELECT $1::text || '-b' AS v",
        param: (i: number) => `q${i}`,
        expected: (i: number) => `q${i}-b`,
      },
      {
        sql: 'SELECT $1::int + 1000 AS v, $2::text AS w',
        param: (i: number) => i,
        expected: (i: number) => i + 1000,
      },
      {
        sql: 'SELECT length($1::text) AS v',
        param: (i: number) => 'x'.repeat(i),
        expected: (i: number) => i,
      },
    ];
    // Two connections per shape, each running its share of the queries back to back.
    const conns = await Promise.all([...shapes, ...shapes].map(() => connect()));
    const results = await Promise.all(
      conns.map(async (conn, c) => {
        const k = c % shapes.length;
        const shape = shapes[k];
        const wrong: string[] = [];
        for (let i = 0; i < 100; i++) {
          const params = shape.sql.includes('$2') ? [shape.param(i), 'w'] : [shape.param(i)];
          try {
            const res = await conn.query<{ v: unknown }>(shape.sql, params);
            if (res.rows.length !== 1 || res.rows[0].v !== shape.expected(i))
              wrong.push(`${c}/${i}: ${JSON.stringify(res.rows)}`);
          } catch (err) {
            wrong.push(`${c}/${i}: ${(err as Error).message}`);
          }
        }
        return wrong;
      }),
    );
    expect(results.flat()).toEqual([]);
  });

  it("keeps a client's extended-protocol unit whole when another client's unit arrives in the middle of it", async () => {
    const b = await connect();
    const { socket: a } = await rawExchange(port(), startupMessage(), endsWithReadyForQuery);
    let aOut = Buffer.alloc(0);
    a.on('data', (d: Buffer) => (aOut = Buffer.concat([aOut, d])));
    const aReceived = (check: (out: Buffer) => boolean) =>
      new Promise<void>((resolve) => {
        const poll = () => (check(aOut) ? resolve() : setImmediate(poll));
        poll();
      });
    // A parses its unnamed statement and flushes: its unit is open until its Sync.
    a.write(Buffer.concat([frontend('P', '\0SELECT $1::int * 2 AS v\0\0\0'), frontend('H', '')]));
    await aReceived((out) => backendMessages(out).some((m) => m.type === '1'));
    // B sends a whole unit of its own (Parse/Bind/Describe/Execute/Sync on the unnamed statement).
    let bAnsweredMidUnit = false;
    const bResult = b.query<{ v: string }>("SELECT $1::text || '-b' AS v", ['x']);
    void bResult.then(() => (bAnsweredMidUnit = true));
    // Pacing, not an assertion: give a server that would run B now the chance to do so.
    await new Promise((r) => setTimeout(r, 300));
    const answeredBeforeASync = bAnsweredMidUnit;
    // A binds and runs the statement it parsed.
    a.write(
      Buffer.concat([
        frontend('B', '\0\0\0\0\0\x01\0\0\0\x0221\0\0'),
        frontend('D', 'P\0'),
        frontend('E', '\0\0\0\0\0'),
        frontend('S', ''),
      ]),
    );
    await aReceived((out) => backendMessages(out).some((m) => m.type === 'Z'));
    a.destroy();
    const aMessages = backendMessages(aOut);
    expect(aMessages.filter((m) => m.type === 'E')).toEqual([]);
    expect(aMessages.filter((m) => m.type === 'D').map((m) => m.firstColumn)).toEqual(['42']);
    expect(answeredBeforeASync).toBe(false);
    expect((await bResult).rows).toEqual([{ v: 'x-b' }]);
  });

  it("runs another client's statements neither inside nor during a client's open transaction", async () => {
    const a = await connect();
    const b = await connect();
    await a.query('BEGIN');
    await a.query("INSERT INTO items VALUES ('in-a-rolled-back-transaction')");
    // b's insert and read are sent while a's transaction is open; they must wait for it to end.
    const bRead = (async () => {
      await b.query("INSERT INTO items VALUES ('from-b')");
      return b.query<{ names: string[] }>(
        'SELECT coalesce(array_agg(name ORDER BY name), ARRAY[]::text[]) AS names FROM items',
      );
    })();
    expect((await a.query('SELECT count(*)::int AS n FROM items')).rows[0].n).toBe(1);
    await a.query('ROLLBACK');
    expect((await bRead).rows[0].names).toEqual(['from-b']);
  });

  it('rolls back the transaction of a client that disconnects inside it, and serves the others', async () => {
    const a = await connect();
    const b = await connect();
    await a.query('BEGIN');
    await a.query("INSERT INTO items VALUES ('never-committed')");
    const bRead = b.query<{ n: number }>('SELECT count(*)::int AS n FROM items');
    await a.end(); // Terminate: not forwarded to PGlite, so the backend lives on
    expect((await bRead).rows[0].n).toBe(0);
    expect((await b.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('ends the half-sent unit of a client that vanished after a failed Parse, so the next client is answered', async () => {
    const { socket } = await rawExchange(port(), startupMessage(), endsWithReadyForQuery);
    // Parse of bad SQL and no Sync: the backend now skips messages until a Sync arrives.
    const parsed = new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.write(frontend('P', '\0SELEC nonsense\0\0\0'));
    await parsed;
    socket.destroy();
    const b = await connect();
    expect((await b.query('SELECT $1::int AS v', [7])).rows).toEqual([{ v: 7 }]);
  });

  it('answers an SSLRequest with N and then serves the client in plain text', async () => {
    const ssl = Buffer.alloc(8);
    ssl.writeInt32BE(8, 0);
    ssl.writeInt32BE(80877103, 4);
    const { socket, received } = await rawExchange(port(), ssl, (r) => r.length >= 1);
    expect(received.toString('latin1')).toBe('N');
    const ready = new Promise<void>((resolve) => {
      let all = Buffer.alloc(0);
      socket.on('data', (d: Buffer) => {
        all = Buffer.concat([all, d]);
        if (endsWithReadyForQuery(all)) resolve();
      });
    });
    socket.write(startupMessage());
    await ready;
    socket.destroy();
  });

  function port(): number {
    return server.port;
  }
});

describe('BackendStatusTracker', () => {
  const z = (status: string) => Buffer.from([0x5a, 0, 0, 0, 5, status.charCodeAt(0)]);
  const complete = Buffer.from([0x43, 0, 0, 0, 10, ...Buffer.from('BEGIN\0')]);

  it('is idle only when the last message is ReadyForQuery with status I, even split across chunks', () => {
    const t = new BackendStatusTracker();
    const inTx = Buffer.concat([complete, z('T')]);
    t.feed(inTx.subarray(0, 7));
    t.feed(inTx.subarray(7));
    expect(t.idle).toBe(false);
    const idle = Buffer.concat([complete, z('I')]);
    for (const byte of idle) t.feed(Buffer.from([byte]));
    expect(t.idle).toBe(true);
    t.feed(z('E'));
    expect(t.idle).toBe(false);
    t.feed(Buffer.from([0x31, 0, 0, 0, 4])); // ParseComplete after an idle ReadyForQuery
    expect(t.idle).toBe(false);
  });
});
