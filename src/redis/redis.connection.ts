import { Logger } from '@nestjs/common';
import { RateLimitedLogger, sleep } from '../common';
import { Cluster, ClusterOptions, Command, Redis, RedisOptions, ReplyError } from 'ioredis';
import type { RedisClient } from './redis.constants';
import { RedisCommandScope, withRedisCommandScope } from './redis-command-scope';
import { RedisUnavailableError } from './redis.errors';
import type { RedisTopology, ResolvedConnection } from './redis.module-definition';

export interface ConnectionOverrides {
  /** Name used in logs and in `CLIENT SETNAME` (`<prefix>:<name>`). */
  name: string;
  /** `null` for blocking and BullMQ worker connections, which must wait for Redis indefinitely. */
  maxRetriesPerRequest?: number | null;
  /** Blocking commands (BRPOP, XREAD BLOCK) must not be cut by the command timeout. */
  commandTimeout?: number | null;
  /**
   * Batch commands sent together into one socket write (see {@link WriteBatching}). Default: the
   * connection's `autoPipelining`.
   */
  enableAutoPipelining?: boolean;
  enableOfflineQueue?: boolean;
  lazyConnect?: boolean;
  /** Cluster: route SSUBSCRIBE to each channel's slot owner (sharded pub/sub). */
  shardedSubscribers?: boolean;
  /**
   * Fail fast instead of queueing while the server is known not to answer (see
   * {@link StallBreaker}). Command clients share one per server; blocking connections take none.
   */
  breaker?: StallBreaker;
  /**
   * Who the client's commands are attributed to in command metrics (its role): every command is
   * written inside this scope (see {@link redisCommandScope}).
   */
  scope?: RedisCommandScope;
}

const PROBE = Symbol('redis:probe');
type ProbeCommand = Command & { [PROBE]?: true };

/**
 * A circuit breaker for a server that stops answering while its connection stays open (a
 * frozen or overloaded process, a network black hole): the first command that times out opens
 * it; from then on commands fail at once with {@link RedisUnavailableError}, and a PING probe
 * is sent every `probeEveryMs` (each bounded by the command timeout) until one is answered,
 * which closes it. Any reply, even an error reply, closes it too. Shared by the command clients
 * of one server (the `state` and `cache` roles on one instance), so a stall seen by one role
 * stops the other from waiting as well. On a Cluster it covers the whole cluster client: a
 * probe answered by a healthy node closes it again.
 */
export class StallBreaker {
  private open = false;
  private probing = false;
  private readonly logger = new Logger('Redis');

  constructor(
    readonly where: string,
    private readonly probeEveryMs = 200,
  ) {}

  get isOpen(): boolean {
    return this.open;
  }

  /**
   * Watches one command's outcome as it settles, synchronously, before anything awaiting it
   * runs on. Watching its promise instead lost a race: with auto-pipelining, one pipeline per
   * connection is in flight and later commands wait behind it with no timer of their own; when
   * the in-flight one timed out, ioredis wrote the waiting pipeline at once, in the same turn,
   * before a promise reaction could open the breaker, so those commands waited a second full
   * timeout (test/foundation/redis-stall, "a locked write", under load: a background command
   * was in flight when the request's commands queued behind it).
   */
  watch(command: Command, probe: () => Promise<unknown>): void {
    const { resolve, reject } = command;
    command.resolve = (value: unknown) => {
      this.close();
      resolve(value);
    };
    command.reject = (err: Error) => {
      if (err instanceof ReplyError) this.close();
      else if (err?.message === 'Command timed out') this.trip(probe);
      reject(err);
    };
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.logger.log(`redis ${this.where}: answering again, commands flow`);
  }

  private trip(probe: () => Promise<unknown>): void {
    if (this.open) return;
    this.open = true;
    this.logger.warn(
      `redis ${this.where}: a command timed out; failing fast until the server answers a probe`,
    );
    if (!this.probing) void this.probeUntilAnswered(probe);
  }

  private async probeUntilAnswered(probe: () => Promise<unknown>): Promise<void> {
    this.probing = true;
    try {
      while (this.open) {
        try {
          await probe();
          this.close();
        } catch {
          await sleep(this.probeEveryMs, { unref: true });
        }
      }
    } finally {
      this.probing = false;
    }
  }
}

/** Why a command must fail at once instead of being sent or queued, or undefined. */
function failFastReason(client: RedisClient, breaker: StallBreaker): string | undefined {
  if (client.status === 'ready') {
    return breaker.isOpen
      ? `redis ${breaker.where} is not answering (a command timed out); retry shortly`
      : undefined;
  }
  // Lost after being ready: nothing will be written until it reconnects. (While `connect`ing,
  // ioredis's own handshake commands must pass; user commands queue, bounded by the timeout.)
  const lost = ['reconnecting', 'close', 'end'].includes(client.status);
  return lost && everReady.has(client)
    ? `redis ${breaker.where} connection is ${client.status}; retry shortly`
    : undefined;
}

function guardedSend(
  client: RedisClient,
  breaker: StallBreaker | undefined,
  scope: RedisCommandScope | undefined,
  command: ProbeCommand,
  send: () => unknown,
): Promise<unknown> {
  if (breaker && !command[PROBE]) {
    const reason = failFastReason(client, breaker);
    if (reason) {
      scope?.observer?.refused(scope, command.name, command.args[0]);
      command.reject(new RedisUnavailableError(reason));
      return command.promise;
    }
  }
  breaker?.watch(command, () => probeCommand(client));
  const sent = (scope ? withRedisCommandScope(scope, send) : send()) as Promise<unknown>;
  // ioredis traces a command only when it writes it. One it refuses or queues without writing
  // (status `connecting` with no offline queue, `end`, an offline queue flushed on close or
  // timed out) never reaches the tracing channel: count it as refused when it fails unwritten.
  if (scope?.observer && !command.isTraced && !command[PROBE] && !watchedUnwritten.has(command)) {
    watchedUnwritten.add(command);
    command.promise.catch(() => {
      if (!command.isTraced) scope.observer?.refused(scope, command.name, command.args[0]);
    });
  }
  return sent;
}

/** Commands whose unwritten failure is already watched (ioredis may pass one through sendCommand again). */
const watchedUnwritten = new WeakSet<Command>();

function probeCommand(client: RedisClient): Promise<unknown> {
  return sendDespiteStall(client, 'ping', []);
}

/**
 * Sends a command even while the client's breaker is open. For compensations that must follow
 * a timed-out command on the same connection (Redis runs them in order when it answers again),
 * such as releasing a lock whose acquisition the caller gave up on.
 */
export function sendDespiteStall(
  client: RedisClient,
  name: string,
  args: (string | number)[],
): Promise<unknown> {
  const command: ProbeCommand = new Command(name, args);
  command[PROBE] = true;
  return client.sendCommand(command) as Promise<unknown>;
}

type LegacyRedisOptions = RedisOptions & { replyMapping?: 'legacy' };
type LegacyClusterOptions = ClusterOptions & {
  redisOptions?: ClusterOptions['redisOptions'] & { replyMapping?: 'legacy' };
};

type Socket = Redis['stream'];

/**
 * How a standalone or Sentinel client with `autoPipelining` batches commands: the first command
 * written in an event-loop turn corks the connection's socket, and `setImmediate` uncorks it, so
 * every command written until then (by any request) leaves in one `writev` and reaches Redis in
 * one read — what ioredis's auto-pipelining does, without it. ioredis's auto-pipeline builds a
 * `Pipeline` per batch and copies every script defined on the client onto it (10–25 µs per batch
 * on this project's machine, most of it garbage collection, with a batch per request or two
 * under HTTP load); here each command is written as by a client without auto-pipelining.
 *
 * Order is kept (one socket, first in first out) and nothing waits beyond the current turn: an
 * immediate is pending, so the event loop does not block in its poll phase before writing. Only
 * a `ready` connection is corked; commands queued offline are written by ioredis as before.
 */
interface WriteBatching {
  held?: Socket;
}

const releaseWrites = (batching: WriteBatching, socket: Socket): void => {
  batching.held = undefined;
  socket.uncork();
};

/**
 * A Redis (standalone or Sentinel) client whose commands go through a {@link StallBreaker}, are
 * written inside a {@link RedisCommandScope} and/or are batched per event-loop turn
 * ({@link WriteBatching}).
 */
class GuardedRedis extends Redis {
  private readonly breaker?: StallBreaker;
  private readonly scope?: RedisCommandScope;
  private readonly batching?: WriteBatching;
  private readonly guarded: boolean;

  constructor(
    guard: { breaker?: StallBreaker; scope?: RedisCommandScope; batchWrites?: boolean },
    url: string | undefined,
    options: RedisOptions,
  ) {
    if (url === undefined) super(options as LegacyRedisOptions);
    else super(url, options as LegacyRedisOptions);
    this.breaker = guard.breaker;
    this.scope = guard.scope;
    this.batching = guard.batchWrites ? {} : undefined;
    this.guarded = true;
  }

  override sendCommand(
    ...args: Parameters<Redis['sendCommand']>
  ): ReturnType<Redis['sendCommand']> {
    if (!this.guarded) return super.sendCommand(...args); // during super()
    const batching = this.batching;
    if (batching && batching.held === undefined && this.status === 'ready' && this.stream) {
      const socket = this.stream;
      batching.held = socket;
      socket.cork();
      setImmediate(releaseWrites, batching, socket);
    }
    return guardedSend(this, this.breaker, this.scope, args[0], () => super.sendCommand(...args));
  }
}

/** A Cluster client whose commands go through a {@link StallBreaker} and/or a {@link RedisCommandScope}. */
class GuardedCluster extends Cluster {
  private readonly breaker?: StallBreaker;
  private readonly scope?: RedisCommandScope;
  private readonly guarded: boolean;

  constructor(
    guard: { breaker?: StallBreaker; scope?: RedisCommandScope },
    nodes: ConstructorParameters<typeof Cluster>[0],
    options: ClusterOptions,
  ) {
    super(nodes, options as LegacyClusterOptions);
    this.breaker = guard.breaker;
    this.scope = guard.scope;
    this.guarded = true;
  }

  override sendCommand(
    ...args: Parameters<Cluster['sendCommand']>
  ): ReturnType<Cluster['sendCommand']> {
    if (!this.guarded) return super.sendCommand(...args); // during super()
    return guardedSend(this, this.breaker, this.scope, args[0], () => super.sendCommand(...args));
  }
}

/** Capped exponential back-off with full jitter: 50 ms, 100 ms, … up to 2 s. Never gives up. */
export function retryDelay(
  attempt: number,
  baseMs = 50,
  capMs = 2000,
  random = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 16));
  return Math.max(baseMs, Math.round(ceiling * (0.5 + random() / 2)));
}

/** host:port of a topology for logs: never a password. */
export function describeTopology(t: RedisTopology): string {
  switch (t.mode) {
    case 'standalone': {
      const u = new URL(t.url);
      return `${u.protocol}//${u.hostname}:${u.port || 6379}/${u.pathname.replace('/', '') || '0'}`;
    }
    case 'cluster':
      return `cluster(${t.nodes.map((n) => `${n.host}:${n.port}`).join(',')})`;
    case 'sentinel':
      return `sentinel(${t.name}@${t.sentinels.map((n) => `${n.host}:${n.port}`).join(',')})`;
  }
}

/**
 * Builds an ioredis client for any topology from config alone. The rest of the code only sees
 * {@link RedisClient}.
 */
export function createRedisClient(
  settings: ResolvedConnection,
  o: ConnectionOverrides,
): RedisClient {
  const t = settings.topology;
  const batch = o.enableAutoPipelining ?? settings.autoPipelining;
  const base: RedisOptions = {
    connectionName: o.name,
    connectTimeout: settings.connectTimeoutMs,
    commandTimeout:
      o.commandTimeout === null ? undefined : (o.commandTimeout ?? settings.commandTimeoutMs),
    maxRetriesPerRequest: o.maxRetriesPerRequest === undefined ? 2 : o.maxRetriesPerRequest,
    // Standalone and Sentinel clients batch their writes themselves (GuardedRedis); a Cluster
    // client's commands go to node connections of its own: ioredis's auto-pipelining there.
    enableAutoPipelining: t.mode === 'cluster' && batch,
    enableOfflineQueue: o.enableOfflineQueue ?? true,
    lazyConnect: o.lazyConnect ?? false,
    retryStrategy: (attempt) => retryDelay(attempt),
    // Reconnect (and resend) after a failover turns our master into a read-only replica.
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
    username: settings.username,
    password: settings.password,
    tls: settings.tls ? {} : undefined,
  };
  const guard = { breaker: o.breaker, scope: o.scope, batchWrites: t.mode !== 'cluster' && batch };
  const guarded = o.breaker !== undefined || o.scope !== undefined || guard.batchWrites;
  switch (t.mode) {
    case 'standalone':
      // ioredis merges left to right, first value wins: the URL's host, port, db and credentials,
      // then our options. `rediss://` URLs turn TLS on by themselves.
      return guarded ? new GuardedRedis(guard, t.url, base) : new Redis(t.url, base);
    case 'sentinel': {
      const options: RedisOptions = {
        ...base,
        sentinels: t.sentinels,
        name: t.name,
        sentinelRetryStrategy: (attempt) => retryDelay(attempt),
      };
      return guarded ? new GuardedRedis(guard, undefined, options) : new Redis(options);
    }
    case 'cluster': {
      const clusterOptions: ClusterOptions = {
        redisOptions: base,
        clusterRetryStrategy: (attempt) => retryDelay(attempt),
        enableAutoPipelining: batch,
        enableOfflineQueue: base.enableOfflineQueue,
        lazyConnect: base.lazyConnect,
        maxRedirections: 16,
        shardedSubscribers: o.shardedSubscribers ?? false,
        slotsRefreshTimeout: Math.max(1000, settings.connectTimeoutMs),
      };
      return guarded
        ? new GuardedCluster(guard, t.nodes, clusterOptions)
        : new Cluster(t.nodes, clusterOptions);
    }
  }
}

const everReady = new WeakSet<object>();

/** Marks a client that has reached `ready` once (done by {@link attachConnectionLogging}). */
export function trackReady(client: RedisClient): void {
  if (client.status === 'ready') everReady.add(client);
  client.on('ready', () => everReady.add(client));
}

/**
 * True when the client has lost its connection: it was ready once and is not now (during an
 * outage ioredis cycles through reconnecting, connecting and close; all count), or it was
 * closed. A client still making its first connection is not disconnected: its commands wait,
 * bounded by the command timeout. Fail-open reads and fail-closed locks use this to answer at
 * once during an outage instead of queueing.
 */
export function isDisconnected(client: RedisClient): boolean {
  if (client.status === 'end') return true;
  return client.status !== 'ready' && everReady.has(client);
}

const ERROR_LOG_INTERVAL_MS = 5000;

/**
 * Logs a client's lifecycle through Nest's logger: connect, ready, close, reconnecting and
 * errors (an outage logs its error once per interval, not once per retry). Never logs
 * credentials: only the role name and host:port.
 */
export function attachConnectionLogging(
  client: RedisClient,
  name: string,
  where: string,
  logger: Logger,
): void {
  trackReady(client);
  const errors = new RateLimitedLogger(logger, ERROR_LOG_INTERVAL_MS);
  client.on('connect', () => logger.log(`redis ${name}: connected to ${where}`));
  client.on('ready', () => logger.log(`redis ${name}: ready`));
  client.on('close', () => logger.warn(`redis ${name}: connection closed`));
  client.on('reconnecting', (delay: number) =>
    logger.debug(`redis ${name}: reconnecting in ${delay} ms`),
  );
  client.on('end', () => logger.log(`redis ${name}: connection ended`));
  client.on('error', (err: Error) => errors.error(`redis ${name}: ${err.message}`));
}

/**
 * Closes a client cleanly: QUIT when it is connected (pending replies arrive first), a plain
 * disconnect when it is not or when QUIT does not answer in time. Never hangs shutdown.
 */
export async function closeRedisClient(client: RedisClient, timeoutMs = 2000): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.quit(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
  } catch {
    // Already closing: fall through to disconnect.
  } finally {
    if (timer) clearTimeout(timer);
    if ((client.status as string) !== 'end') client.disconnect();
  }
}
