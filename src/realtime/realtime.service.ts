import { BadRequestException, Inject, Injectable, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { MetricsService } from '../metrics';
import { InjectRedis, RedisClient, RedisKeys } from '../redis';
import { EVENT_NAME } from './realtime.constants';
import { DisconnectTarget, encodeEntry, StreamEntry } from './realtime.events';
import {
  REALTIME_MODULE_OPTIONS,
  RealtimeModuleOptions,
  resolveRealtimeOptions,
  ResolvedRealtimeOptions,
} from './realtime.module-definition';

/** The sockets of this process (the gateway, where it runs). */
export interface LocalSockets {
  /** Emits to every local socket of a user; returns how many got it. */
  emitToUser(userId: number, event: string, payload: unknown): number;
  /** Disconnects the local sockets a target names; returns how many. */
  disconnect(target: DisconnectTarget): number;
  /** Sockets of a user on every instance (through the socket.io adapter). */
  countAcrossInstances(userId: number): Promise<number>;
}

/**
 * Sends events to users' sockets from any process. `toUser` appends one entry to the event
 * stream `<prefix>:rt:{events}` on the `state` role (`XADD … MAXLEN ~ n`, one command); every
 * API instance reads the stream with a blocking connection of its own and emits to its local
 * sockets in the room `user:<id>`. An instance resumes after a Redis outage from the last entry
 * it read, so an accepted event reaches every socket that stays connected, in order. Worker
 * processes (no socket server) only append.
 *
 * Failure policy: `toUser` and `disconnect` fail fast (RedisUnavailableError → 503 at the HTTP
 * edge) when Redis cannot take the entry: a caller that gets no error knows it is in the stream.
 *
 * @example
 * constructor(private readonly realtime: RealtimeService) {}
 * await this.realtime.toUser(7, 'notification', { message: 'Your report is ready' });
 */
@Injectable()
export class RealtimeService {
  /** `<prefix>:rt:{events}`: the event stream. */
  readonly streamKey: string;
  /** `<prefix>:rt:{adapter}`: the socket.io streams adapter's stream. */
  readonly adapterStreamKey: string;
  readonly options: ResolvedRealtimeOptions;
  private local?: LocalSockets;
  private readonly messages;

  constructor(
    @InjectRedis('state') private readonly redis: RedisClient,
    keys: RedisKeys,
    @Inject(REALTIME_MODULE_OPTIONS) options: RealtimeModuleOptions,
    @Optional() metrics: MetricsService = MetricsService.standalone(),
  ) {
    this.options = resolveRealtimeOptions(options);
    const rt = keys.namespace('rt');
    this.streamKey = rt.tagged('events');
    this.adapterStreamKey = rt.tagged('adapter');
    this.messages = metrics.counter({
      name: 'ws_messages_total',
      help: 'WebSocket messages by event and direction (in: from clients, out: to sockets, queued: appended to the event stream)',
      labelNames: ['event', 'direction'],
    });
  }

  /**
   * Sends `event` with `payload` to every socket of the user on every API instance. `id`: a
   * message id; a resent entry with an id seen recently is dropped by the instances (give the
   * same id when retrying after an error). Resolves with the stream entry id once the entry is
   * stored.
   */
  async toUser(
    userId: number,
    event: string,
    payload: unknown,
    o: { id?: string } = {},
  ): Promise<string> {
    if (!EVENT_NAME.test(event)) throw new BadRequestException(`Invalid event name "${event}"`);
    const id = await this.append({
      kind: 'emit',
      userId,
      event,
      payload,
      messageId: o.id ?? randomUUID(),
    });
    this.messages.inc({ event, direction: 'queued' });
    return id;
  }

  /** Disconnects sockets of a user on every API instance (logout, revocation). */
  async disconnect(target: DisconnectTarget): Promise<void> {
    await this.append({ kind: 'disconnect', ...target });
  }

  /**
   * Emits to the user's sockets on this instance only: for events every API instance observes by
   * itself (BullMQ's job completion events). Returns how many sockets got it (0 where no
   * gateway runs).
   */
  toUserLocally(userId: number, event: string, payload: unknown): number {
    return this.local?.emitToUser(userId, event, payload) ?? 0;
  }

  /** How many sockets the user has open across the instances (0 where no gateway runs). */
  async connectedSockets(userId: number): Promise<number> {
    return (await this.local?.countAcrossInstances(userId)) ?? 0;
  }

  /** @internal The gateway registers this process's sockets. */
  attach(local: LocalSockets | undefined): void {
    this.local = local;
  }

  /**
   * @internal Counts messages for `ws_messages_total`. Event names of outgoing messages come from
   * code; incoming unknown names are counted as `unknown` by the gateway (bounded labels).
   */
  count(event: string, direction: 'in' | 'out', n = 1): void {
    if (n > 0) this.messages.inc({ event, direction }, n);
  }

  private async append(entry: StreamEntry): Promise<string> {
    const id = await this.redis.xadd(
      this.streamKey,
      'MAXLEN',
      '~',
      String(this.options.streamMaxLen),
      '*',
      ...encodeEntry(entry),
    );
    return id!;
  }
}
