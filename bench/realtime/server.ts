/**
 * A socket.io server under test of the realtime benchmark, run as a child process of `run.ts`
 * (two per run: instance A, which sends, and instance B), so neither shares its event loop with
 * the clients or the other instance. BENCH_RT_VARIANT:
 *
 * - `ours`: the real app (`createApp(config, 'api')`, Fastify): the Realtime module's gateway
 *   (JWT handshake, the streams adapter joining the instances) and `RealtimeService.toUser`
 *   → one `XADD` to the event stream `<prefix>:rt:{events}`, read by every instance (`XREAD
 *   BLOCK`), which emits to its own sockets in `user:<id>`.
 * - `plain-stream`: the same event-stream design without Nest: a plain `http` + socket.io 4.8
 *   server (no adapter), `XADD key MAXLEN ~ 10000 * u <id> p <json>` per message on an
 *   auto-pipelining ioredis client, a reader loop per instance (`XREAD COUNT 500 BLOCK 5000`)
 *   emitting locally. No authentication (the client names its user).
 * - `redis-adapter`: a plain `http` + socket.io 4.8 server with `@socket.io/redis-adapter` 8.3.0
 *   (classic pub/sub, ioredis pub and sub clients), sending with `io.to('user:<id>').emit(…)`:
 *   local sockets at once, one PUBLISH that the other instance's subscriber receives. No
 *   authentication.
 *
 * IPC protocol: `{ type: 'ready', port }` once listening; `{ type: 'tokens', n }` (ours) →
 * `{ type: 'tokens', tokens }` (access tokens of users 1..n); `{ type: 'batch', batch, users }`
 * → one message `n` to each user 1..users, payload `{ b, t, pad }` (`t`: the send time, ms since
 * the epoch with sub-ms precision), then `{ type: 'sent', batch }`; `{ type: 'cpu' }` → `{ type:
 * 'cpu', ms }`. Closes on SIGTERM or when the runner goes away.
 */
import 'reflect-metadata';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { createServer, Server as HttpServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Server } from 'socket.io';
import { createApp } from '../../src/app.factory';
import { AuthService } from '../../src/auth';
import { RealtimeService } from '../../src/realtime';
import { benchConfig, privateRedisUrl, runServer, serveUntilStopped } from '../lib/server';

export type RtVariant = 'ours' | 'plain-stream' | 'redis-adapter';

const now = (): number => performance.timeOrigin + performance.now();
const PAD = 'x'.repeat(100);
const STREAM = 'bench:rt:{plain}';

interface Sender {
  send(userId: number, payload: unknown): Promise<unknown>;
}

type Msg = { type?: string; n?: number; batch?: number; users?: number };

function listen(sender: Sender, tokens?: (n: number) => Promise<string[]>): void {
  process.on('message', (m: Msg) => {
    void (async () => {
      if (m?.type === 'batch') {
        const sends: Promise<unknown>[] = [];
        for (let u = 1; u <= (m.users ?? 0); u++)
          sends.push(sender.send(u, { b: m.batch, t: now(), pad: PAD }));
        await Promise.all(sends);
        process.send?.({ type: 'sent', batch: m.batch });
      } else if (m?.type === 'tokens' && tokens) {
        process.send?.({ type: 'tokens', tokens: await tokens(m.n ?? 0) });
      } else if (m?.type === 'cpu') {
        const u = process.cpuUsage();
        process.send?.({ type: 'cpu', ms: (u.user + u.system) / 1000 });
      }
    })().catch((err: Error) => {
      console.error(err);
      process.exit(1);
    });
  });
}

/** Serves a plain http server until stopped (the same contract as serveUntilStopped). */
async function servePlain(http: HttpServer, close: () => Promise<void>): Promise<void> {
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const stop = () => {
    setTimeout(() => process.exit(0), 2000).unref();
    close().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop);
  const port = (http.address() as { port: number }).port;
  process.send?.({ type: 'ready', port, pid: process.pid });
}

/** socket.io on a plain http server; the handshake's `auth.user` names the room. */
function plainIo(): { http: HttpServer; io: Server } {
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'] });
  io.use((socket, next) => {
    const user = Number((socket.handshake.auth as { user?: unknown }).user);
    if (!Number.isSafeInteger(user)) return next(new Error('auth.user missing'));
    void socket.join(`user:${user}`);
    next();
  });
  return { http, io };
}

async function ours(url: string): Promise<void> {
  const config = benchConfig(url, { HTTP_PLATFORM: 'fastify', RATE_LIMIT: '1000000/60s' });
  const app = await createApp(config, 'api');
  const realtime = app.get(RealtimeService);
  const auth = app.get(AuthService);
  listen({ send: (u, p) => realtime.toUser(u, 'n', p) }, async (n) => {
    const tokens: string[] = [];
    for (let id = 1; id <= n; id++) {
      const pair = await auth.issueTokens({ id, email: `u${id}@bench.test`, roles: ['user'] });
      tokens.push(pair.accessToken);
    }
    return tokens;
  });
  await serveUntilStopped(app);
}

async function plainStream(url: string): Promise<void> {
  const { http, io } = plainIo();
  const writer = new Redis(url, { enableAutoPipelining: true });
  const reader = new Redis(url, { maxRetriesPerRequest: null });
  let last = (await writer.xrevrange(STREAM, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
  let running = true;
  const loop = async () => {
    while (running) {
      const res = await reader
        .xread('COUNT', 500, 'BLOCK', 5000, 'STREAMS', STREAM, last)
        .catch(() => null);
      for (const [id, f] of res?.[0]?.[1] ?? []) {
        last = id;
        io.to(`user:${f[1]}`).emit('n', JSON.parse(f[3]));
      }
    }
  };
  void loop();
  listen({
    send: (u, p) =>
      writer.xadd(STREAM, 'MAXLEN', '~', 10_000, '*', 'u', String(u), 'p', JSON.stringify(p)),
  });
  await servePlain(http, async () => {
    running = false;
    reader.disconnect();
    await io.close();
    writer.disconnect();
  });
}

async function redisAdapter(url: string): Promise<void> {
  const { http, io } = plainIo();
  const pub = new Redis(url);
  const sub = pub.duplicate();
  io.adapter(createAdapter(pub, sub, { key: 'bench:rt:sio' }));
  listen({
    send: (u, p) => {
      io.to(`user:${u}`).emit('n', p);
      return Promise.resolve();
    },
  });
  await servePlain(http, async () => {
    await io.close();
    pub.disconnect();
    sub.disconnect();
  });
}

async function main(): Promise<void> {
  const url = privateRedisUrl();
  const variant = process.env.BENCH_RT_VARIANT as RtVariant;
  if (variant === 'ours') return ours(url);
  if (variant === 'plain-stream') return plainStream(url);
  if (variant === 'redis-adapter') return redisAdapter(url);
  throw new Error(
    `BENCH_RT_VARIANT must be ours | plain-stream | redis-adapter (got "${String(variant)}")`,
  );
}

runServer(main);
