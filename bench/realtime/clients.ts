/**
 * socket.io clients of the realtime benchmark, run as a child process of `run.ts` (two per run,
 * each holding half the clients), so the clients do not share an event loop with a server.
 *
 * IPC protocol: `{ type: 'ready', port: 0 }` at start; `{ type: 'connect', clients, warmup }`
 * (`clients`: `{ url, user, token?, instance }` each) → connects them all (websocket transport,
 * no reconnection; `auth: { token }` for ours, `auth: { user }` for the plain servers), then
 * `{ type: 'connected' }`. Every `n` message is timed (receive time − its `t`); when each client
 * has received batch `b`, `{ type: 'done', batch: b }`. `{ type: 'report' }` → `{ type: 'report',
 * latencies: { A, B }, received, duplicates, disconnects }` (latencies of batches ≥ `warmup`, ms,
 * per the instance the client is connected to).
 */
import { performance } from 'node:perf_hooks';
import { io, Socket } from 'socket.io-client';

interface ClientSpec {
  url: string;
  user: number;
  token?: string;
  instance: 'A' | 'B';
}

const now = (): number => performance.timeOrigin + performance.now();

const sockets: Socket[] = [];
const perBatch = new Map<number, number>();
const latencies: { A: number[]; B: number[] } = { A: [], B: [] };
let warmup = 0;
let received = 0;
let duplicates = 0;
let disconnects = 0;

function connect(c: ClientSpec): Promise<void> {
  const socket = io(c.url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: 30_000,
    auth: c.token ? { token: c.token } : { user: c.user },
  });
  sockets.push(socket);
  const seen = new Set<number>();
  socket.on('n', (p: { b: number; t: number }) => {
    const at = now();
    received++;
    if (seen.has(p.b)) {
      duplicates++;
      return;
    }
    seen.add(p.b);
    if (p.b >= warmup) latencies[c.instance].push(at - p.t);
    const n = (perBatch.get(p.b) ?? 0) + 1;
    perBatch.set(p.b, n);
    if (n === total) {
      perBatch.delete(p.b);
      process.send?.({ type: 'done', batch: p.b });
    }
  });
  socket.on('disconnect', () => disconnects++);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(new Error(`user ${c.user}: ${err.message}`)));
  });
}

let total = 0;

process.on(
  'message',
  (m: { type?: string; clients?: ClientSpec[]; warmup?: number }) =>
    void (async () => {
      if (m?.type === 'connect') {
        const clients = m.clients ?? [];
        total = clients.length;
        warmup = m.warmup ?? 0;
        // 50 handshakes at a time: the servers verify a token per handshake.
        for (let i = 0; i < clients.length; i += 50)
          await Promise.all(clients.slice(i, i + 50).map(connect));
        process.send?.({ type: 'connected' });
      } else if (m?.type === 'report') {
        process.send?.({ type: 'report', latencies, received, duplicates, disconnects });
      }
    })().catch((err: Error) => {
      console.error(err.message);
      process.exit(1);
    }),
);
const stop = () => {
  for (const s of sockets) s.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('disconnect', stop);
process.send?.({ type: 'ready', port: 0 });
