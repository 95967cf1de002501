import { ConfigurableModuleBuilder } from '@nestjs/common';

/** Who a socket is, as the handshake authenticator found it. */
export interface SocketIdentity {
  userId: number;
  /** The session the socket authenticated with (session cookie). */
  sessionId?: string;
  /** The access token's id, and its refresh-token family (`auth.token`). */
  tokenId?: string;
  family?: string;
  /** When the credential stops being valid (epoch ms): the socket is disconnected then. */
  expiresAt?: number;
}

/** What a client presents in the socket.io handshake. */
export interface HandshakeCredentials {
  /** `auth.token` of the client's `io(url, { auth: { token } })`. */
  token?: string;
  /** The handshake request's Cookie header. */
  cookie?: string | string[];
}

/**
 * Checks a handshake's credentials. Throws to refuse the connection: the client's
 * `connect_error` carries the error's message and `data.code` (the error's `code`, e.g.
 * `UNAUTHENTICATED`, or `UNAVAILABLE` when the check itself cannot run).
 */
export type HandshakeAuthenticator = (credentials: HandshakeCredentials) => Promise<SocketIdentity>;

/**
 * Options of {@link RealtimeModule}.
 *
 * @example
 * RealtimeModule.forRootAsync({
 *   inject: [AuthService],
 *   useFactory: (auth: AuthService) => ({ prefix: 'shop', authenticate: (c) => toSocketIdentity(auth, c) }),
 *   gateway: true,
 * })
 */
export interface RealtimeModuleOptions {
  /** The app's key prefix (`RedisModule`'s `prefix`): keys are `<prefix>:rt:…`. */
  prefix: string;
  /** Handshake authentication; required where the gateway runs (`gateway: true`). */
  authenticate?: HandshakeAuthenticator;
  /** Approximate length the event stream is trimmed to (`XADD … MAXLEN ~ n`). Default 10 000. */
  streamMaxLen?: number;
  /** Largest socket.io message a client may send (engine.io `maxHttpBufferSize`). Default 16 KiB. */
  maxPayloadBytes?: number;
  /** How long one `XREAD BLOCK` of the event stream waits. Default 5 s. */
  blockMs?: number;
  /** How often an open socket's credential is checked again (idle-expired sessions, missed revocations). Default 60 s. */
  reauthMs?: number;
  /** How many recent message ids each instance remembers to drop a resent duplicate. Default 10 000. */
  dedupeWindow?: number;
  /** `@socket.io/redis-streams-adapter` between instances (socket.io broadcasts, fetchSockets). Default true. */
  adapter?: boolean;
  /** socket.io path. Default `/socket.io`. */
  path?: string;
}

export type ResolvedRealtimeOptions = Required<Omit<RealtimeModuleOptions, 'authenticate'>> &
  Pick<RealtimeModuleOptions, 'authenticate'>;

export const REALTIME_DEFAULTS = {
  streamMaxLen: 10_000,
  maxPayloadBytes: 16 * 1024,
  blockMs: 5_000,
  reauthMs: 60_000,
  dedupeWindow: 10_000,
  adapter: true,
  path: '/socket.io',
} as const;

export function resolveRealtimeOptions(o: RealtimeModuleOptions): ResolvedRealtimeOptions {
  const defined = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  return { ...REALTIME_DEFAULTS, ...defined } as ResolvedRealtimeOptions;
}

export const {
  ConfigurableModuleClass: RealtimeConfigurableModule,
  MODULE_OPTIONS_TOKEN: REALTIME_MODULE_OPTIONS,
  OPTIONS_TYPE: REALTIME_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: REALTIME_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<RealtimeModuleOptions>({ moduleName: 'Realtime' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false, gateway: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
