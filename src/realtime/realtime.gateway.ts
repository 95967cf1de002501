import { BeforeApplicationShutdown, Optional } from '@nestjs/common';
import {
  OnGatewayConnection,
  OnGatewayDisconnect,
  OnGatewayInit,
  SubscribeMessage,
  WebSocketGateway,
  WebSocketServer,
} from '@nestjs/websockets';
import type { Server, Socket } from 'socket.io';
import { MetricsService } from '../metrics';
import { CLIENT_EVENTS, EXCEPTION_EVENT, REVOKED_EVENT, userRoom } from './realtime.constants';
import type { DisconnectTarget } from './realtime.events';
import { closeSocketServer, StreamsAdapterConnections } from './realtime.io-adapter';
import type { HandshakeCredentials, SocketIdentity } from './realtime.module-definition';
import { LocalSockets, RealtimeService } from './realtime.service';

/**
 * `socket.data`: who the socket is. It is what `fetchSockets()` returns from other instances
 * (serialised through the adapter), so it holds no credentials and nothing unserialisable.
 */
interface SocketData {
  identity: SocketIdentity;
}

/** What this instance keeps about its own sockets: the credentials (checked again) and timers. */
interface LocalState {
  credentials: HandshakeCredentials;
  timers: NodeJS.Timeout[];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- event maps are open: events come from callers
type Events = Record<string, (...args: any[]) => void>;
type AppSocket = Socket<Events, Events, Events, SocketData>;

/** A handshake refusal: the client's `connect_error` has this message and `data.code`. */
class HandshakeRefused extends Error {
  readonly data: { code: string };
  constructor(code: string, message: string) {
    super(message);
    this.data = { code };
  }
}

const KNOWN: ReadonlySet<string> = new Set(CLIENT_EVENTS);

/**
 * The socket.io gateway on the HTTP server's port. Every connection is authenticated in the
 * handshake (socket.io middleware: guards do not run at connect) and joins `user:<id>`.
 * Credentials are checked again every `reauthMs` and a token's socket is disconnected when the
 * token expires. Clients may send `ping` (acknowledged with `{ pong: true }`); any other event
 * is answered with an `exception` event, oversized messages close the connection
 * (`maxHttpBufferSize`), malformed frames close it too (socket.io's parser), never the process.
 */
@WebSocketGateway()
export class RealtimeGateway
  implements
    OnGatewayInit<Server>,
    OnGatewayConnection<AppSocket>,
    OnGatewayDisconnect<AppSocket>,
    LocalSockets,
    BeforeApplicationShutdown
{
  @WebSocketServer() server!: Server;
  private readonly connections;
  private readonly local = new WeakMap<AppSocket, LocalState>();

  constructor(
    private readonly realtime: RealtimeService,
    private readonly adapterConnections: StreamsAdapterConnections,
    @Optional() metrics: MetricsService = MetricsService.standalone(),
  ) {
    this.connections = metrics.gauge({
      name: 'ws_connections',
      help: 'Open WebSocket (socket.io) connections of this instance',
      labelNames: ['instance'],
    });
  }

  private get instance(): string {
    return String(process.pid);
  }

  afterInit(server: Server): void {
    server.use((socket, next) => {
      void this.handshake(socket as AppSocket).then(
        () => next(),
        (err: HandshakeRefused) => next(err),
      );
    });
    this.realtime.attach(this);
  }

  private async handshake(socket: AppSocket): Promise<void> {
    const auth = this.realtime.options.authenticate;
    if (!auth) throw new HandshakeRefused('UNAVAILABLE', 'No authentication is configured');
    const token: unknown = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    if (token !== undefined && (typeof token !== 'string' || token.length > 4096))
      throw new HandshakeRefused(
        'UNAUTHENTICATED',
        'auth.token must be an access token (a string)',
      );
    const credentials: HandshakeCredentials = {
      ...(token ? { token } : {}),
      ...(socket.handshake.headers.cookie ? { cookie: socket.handshake.headers.cookie } : {}),
    };
    socket.data.identity = await this.authenticate(credentials);
    this.local.set(socket, { credentials, timers: [] });
  }

  private async authenticate(credentials: HandshakeCredentials): Promise<SocketIdentity> {
    try {
      return await this.realtime.options.authenticate!(credentials);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      throw new HandshakeRefused(
        typeof code === 'string' ? code : 'UNAUTHENTICATED',
        (err as Error).message || 'Authentication failed',
      );
    }
  }

  handleConnection(socket: AppSocket): void {
    const { identity } = socket.data;
    const state = this.local.get(socket);
    if (!identity || !state) {
      socket.disconnect(true); // cannot happen: the middleware refused it
      return;
    }
    void socket.join(userRoom(identity.userId));
    this.connections.inc({ instance: this.instance });
    socket.onAny((event: unknown) => {
      const name = String(event);
      if (KNOWN.has(name)) {
        this.realtime.count(name, 'in');
        return;
      }
      this.realtime.count('unknown', 'in');
      socket.emit(EXCEPTION_EVENT, {
        code: 'UNKNOWN_EVENT',
        message: `Unknown event "${name.slice(0, 64)}": clients may send ${CLIENT_EVENTS.join(', ')}`,
      });
    });
    if (identity.expiresAt !== undefined) {
      const ms = Math.min(Math.max(0, identity.expiresAt - Date.now()), 2 ** 31 - 1);
      const expiry = setTimeout(() => this.revoke(socket, 'the access token expired'), ms);
      expiry.unref();
      state.timers.push(expiry);
    }
    const every = this.realtime.options.reauthMs;
    // Jittered, so sockets opened together are not all checked in the same instant.
    const timer = setInterval(
      () => void this.recheck(socket),
      every + Math.floor(Math.random() * every * 0.1),
    );
    timer.unref();
    state.timers.push(timer);
  }

  handleDisconnect(socket: AppSocket): void {
    const state = this.local.get(socket);
    if (!state) return;
    this.local.delete(socket);
    this.connections.dec({ instance: this.instance });
    for (const t of state.timers) clearTimeout(t);
  }

  /** `ping` → acknowledged with `{ pong: true, at }` (a client's liveness check). */
  @SubscribeMessage('ping')
  ping(): { pong: true; at: number } {
    return { pong: true, at: Date.now() };
  }

  /** Checks an open socket's credential again: revoked or expired → disconnected; Redis down → kept. */
  private async recheck(socket: AppSocket): Promise<void> {
    const state = this.local.get(socket);
    if (!socket.connected || !state) return;
    try {
      await this.authenticate(state.credentials);
    } catch (err) {
      if ((err as HandshakeRefused).data?.code === 'UNAVAILABLE') return;
      this.revoke(socket, (err as Error).message);
    }
  }

  private revoke(socket: AppSocket, reason: string): void {
    if (!socket.connected) return;
    socket.emit(REVOKED_EVENT, { reason });
    this.realtime.count(REVOKED_EVENT, 'out');
    socket.disconnect(true);
  }

  // --- LocalSockets: what the event stream delivers to this instance -----------------------

  emitToUser(userId: number, event: string, payload: unknown): number {
    const room = this.server?.of('/').adapter.rooms.get(userRoom(userId));
    const n = room?.size ?? 0;
    if (n === 0) return 0;
    this.server.local.to(userRoom(userId)).emit(event, payload);
    this.realtime.count(event, 'out', n);
    return n;
  }

  disconnect(target: DisconnectTarget): number {
    const nsp = this.server?.of('/');
    const room = nsp?.adapter.rooms.get(userRoom(target.userId));
    if (!room) return 0;
    let n = 0;
    for (const id of [...room]) {
      const socket = nsp.sockets.get(id) as AppSocket | undefined;
      if (socket && matches(socket.data.identity, target)) {
        this.revoke(socket, target.reason);
        n++;
      }
    }
    return n;
  }

  async countAcrossInstances(userId: number): Promise<number> {
    return (await this.server.in(userRoom(userId)).fetchSockets()).length;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.realtime.attach(undefined);
    if (this.server) await closeSocketServer(this.server);
    this.adapterConnections.close();
  }
}

function matches(identity: SocketIdentity | undefined, t: DisconnectTarget): boolean {
  if (!identity || identity.userId !== t.userId) return false;
  if (t.all) return true;
  if (identity.sessionId && t.sessionIds?.includes(identity.sessionId)) return true;
  if (identity.tokenId && t.tokenId === identity.tokenId) return true;
  return Boolean(identity.family && t.family === identity.family);
}
