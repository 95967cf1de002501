import { io, Socket } from 'socket.io-client';

/** A socket.io client's refusal: `connect_error`'s message and `data`. */
export interface ConnectRefusal {
  message: string;
  data?: { code?: string };
}

/** Options of {@link connectSocket}: the credentials a browser or a client would send. */
export interface SocketCredentials {
  cookie?: string;
  token?: string;
}

/** A client socket and every event it received, in order. */
export interface TestSocket {
  socket: Socket;
  /** Every event received: `[event, payload]`, in arrival order. */
  received: [string, unknown][];
  /** Payloads of one event, in arrival order. */
  events(name: string): unknown[];
  /** Resolves with the disconnect reason. */
  disconnected: Promise<string>;
  close(): void;
}

function options(c: SocketCredentials) {
  return {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: 10_000,
    ...(c.token ? { auth: { token: c.token } } : {}),
    ...(c.cookie ? { extraHeaders: { cookie: c.cookie } } : {}),
  };
}

/** Connects a socket.io client to an app (websocket transport, no reconnection); throws the refusal. */
export async function connectSocket(url: string, c: SocketCredentials = {}): Promise<TestSocket> {
  const socket = io(url, options(c));
  const received: [string, unknown][] = [];
  socket.onAny((event: string, payload: unknown) => received.push([event, payload]));
  const disconnected = new Promise<string>((resolve) => socket.once('disconnect', resolve));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err: Error & { data?: unknown }) => {
      socket.close();
      reject(Object.assign(new Error(err.message), { data: err.data }));
    });
  });
  return {
    socket,
    received,
    events: (name) => received.filter(([e]) => e === name).map(([, p]) => p),
    disconnected,
    close: () => socket.close(),
  };
}

/** The refusal of a connection that must be refused (fails the test if it connects). */
export async function refusal(url: string, c: SocketCredentials = {}): Promise<ConnectRefusal> {
  try {
    const s = await connectSocket(url, c);
    s.close();
  } catch (err) {
    return {
      message: (err as Error).message,
      data: (err as { data?: ConnectRefusal['data'] }).data,
    };
  }
  throw new Error('the connection was accepted');
}
