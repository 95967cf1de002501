import { Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { Server, ServerOptions } from 'socket.io';
import { RedisClient, RedisService } from '../redis';
import { RealtimeService } from './realtime.service';

/**
 * The streams adapter's Redis connections. It is given one dedicated connection of the `blocking`
 * kind (no command timeout: its `XREAD BLOCK` must not be cut off; `maxRetriesPerRequest: null`:
 * during an outage its commands wait for the reconnect instead of failing) and `duplicate()`s it
 * twice (its stream reader, its pub/sub subscriber). The adapter closes those only after its
 * current `XREAD` returns; they are tracked here and disconnected by the gateway on shutdown,
 * right after the socket server (and with it the adapter) is closed, before the RedisService
 * closes the rest. (Disconnected before the adapter is closed, its reader would retry at once,
 * in a loop.)
 */
@Injectable()
export class StreamsAdapterConnections {
  private readonly clients = new Set<RedisClient>();

  constructor(
    private readonly redis: RedisService,
    private readonly realtime: RealtimeService,
  ) {}

  /** A socket.io adapter constructor, or undefined when the adapter is turned off. */
  adapter(): ReturnType<typeof createAdapter> | undefined {
    const o = this.realtime.options;
    if (!o.adapter) return undefined;
    const base = this.redis.createDedicated('blocking', 'realtime-adapter');
    this.track(base);
    return createAdapter(base, {
      streamName: this.realtime.adapterStreamKey,
      maxLen: o.streamMaxLen,
      // Short, so its reader notices a shutdown quickly.
      blockTimeInMs: 1_000,
      channelPrefix: `${o.prefix}:rt:sio`,
      sessionKeyPrefix: `${o.prefix}:rt:sio-session:`,
    });
  }

  private track(client: RedisClient): void {
    this.clients.add(client);
    const duplicate = client.duplicate.bind(client) as (...a: unknown[]) => RedisClient;
    (client as { duplicate: (...a: unknown[]) => RedisClient }).duplicate = (...a: unknown[]) => {
      const d = duplicate(...a);
      this.clients.add(d);
      return d;
    };
  }

  /** Disconnects the adapter's connections (after the adapter is closed). */
  close(): void {
    for (const c of this.clients) c.disconnect();
    this.clients.clear();
  }
}

/**
 * Nest's socket.io adapter for this app: the socket server shares the HTTP platform's server
 * (Fastify or Express, same port), takes the module's limits (`maxHttpBufferSize`, path), and
 * uses the Redis streams adapter between instances. Closing it never closes the HTTP server
 * (the platform does that itself, after the socket server).
 */
export class RealtimeIoAdapter extends IoAdapter {
  constructor(
    private readonly host: HttpAdapterHost,
    private readonly realtime: RealtimeService,
    private readonly connections: StreamsAdapterConnections,
  ) {
    super();
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const o = this.realtime.options;
    const settings: Partial<ServerOptions> = {
      ...options,
      path: o.path,
      // The browser client, the server's own version, at `<path>/socket.io.js` (the demo page at
      // `/` loads it from there: no CDN, no copy of our own). Answered by socket.io before the
      // HTTP platform sees the request.
      serveClient: true,
      maxHttpBufferSize: o.maxPayloadBytes,
    };
    const io =
      port === 0
        ? new Server(this.host.httpAdapter.getHttpServer(), settings)
        : new Server(port, settings);
    const adapter = this.connections.adapter();
    if (adapter) io.adapter(adapter);
    return io;
  }

  override async close(server: Server): Promise<void> {
    await closeSocketServer(server);
  }
}

/**
 * Disconnects every socket, closes the namespaces' adapters and stops engine.io; leaves the HTTP
 * server to its platform. Safe to call twice.
 */
export async function closeSocketServer(server: Server): Promise<void> {
  const io = server as Server & {
    _nsps?: Map<string, { adapter: { close(): Promise<void> | void } }>;
  };
  server.disconnectSockets(true);
  await Promise.allSettled([...(io._nsps?.values() ?? [])].map(async (nsp) => nsp.adapter.close()));
  server.engine?.close();
}
