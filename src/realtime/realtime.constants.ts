/** The socket.io room every socket of a user joins. */
export const userRoom = (userId: number): string => `user:${userId}`;

/** Event names a server may send: letters, digits, `.`, `_`, `-`; 1-64 characters. */
export const EVENT_NAME = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;

/** Events a client may send. Anything else is answered with an `exception` event. */
export const CLIENT_EVENTS = ['ping'] as const;

/** The event a client receives when its message is refused (unknown event, bad payload). */
export const EXCEPTION_EVENT = 'exception';

/** The event a socket receives just before the server disconnects it for a revoked credential. */
export const REVOKED_EVENT = 'auth.revoked';

/** Token of the socket.io adapter Nest uses (set by RealtimeModule where the gateway runs). */
export const REALTIME_IO_ADAPTER = 'REALTIME:IO_ADAPTER';
