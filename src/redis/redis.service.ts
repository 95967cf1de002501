import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { join } from 'node:path';
import type { DedicatedConnectionKind, RedisClient, RedisRole } from './redis.constants';
import {
  attachConnectionLogging,
  closeRedisClient,
  createRedisClient,
  describeTopology,
  StallBreaker,
} from './redis.connection';
import { defineScripts, loadLuaScripts } from './redis-scripts';
import type { RedisCommandObserver, RedisCommandScope } from './redis-command-scope';
import {
  REDIS_MODULE_OPTIONS,
  RedisModuleOptions,
  resolveConnection,
  ResolvedConnection,
} from './redis.module-definition';

/**
 * Owns every Redis connection of the process: one shared command client per role, plus the
 * dedicated connections handed out by {@link RedisService.createDedicated}. All are closed on
 * shutdown.
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  private readonly clients = new Map<RedisRole, RedisClient>();
  private readonly dedicated = new Set<RedisClient>();
  private readonly settings: Record<RedisRole, ResolvedConnection>;
  /** One stall breaker per server: roles on the same instance fail fast together. */
  private readonly breakers = new Map<string, StallBreaker>();
  /** What this app's connections attribute their commands to, one per role (command metrics). */
  private readonly scopes: Record<RedisRole, RedisCommandScope> = {
    state: { role: 'state' },
    cache: { role: 'cache' },
  };

  constructor(@Inject(REDIS_MODULE_OPTIONS) private readonly options: RedisModuleOptions) {
    this.settings = {
      state: resolveConnection(options.state),
      cache: resolveConnection({ ...options.state, ...definedOnly(options.cache ?? {}) }),
    };
  }

  /**
   * The shared command client of a role (created on first use). While its server is known not
   * to answer (connection lost, or a command timed out and no probe has been answered since),
   * its commands fail at once with `RedisUnavailableError` instead of waiting.
   */
  client(role: RedisRole): RedisClient {
    let c = this.clients.get(role);
    if (!c) {
      const where = describeTopology(this.settings[role].topology);
      let breaker = this.breakers.get(where);
      if (!breaker) this.breakers.set(where, (breaker = new StallBreaker(where)));
      c = createRedisClient(this.settings[role], {
        name: `${this.options.prefix}:${role}`,
        breaker,
        scope: this.scopes[role],
      });
      attachConnectionLogging(c, role, where, this.logger);
      defineScripts(c, loadLuaScripts(join(__dirname, 'lua')));
      this.clients.set(role, c);
    }
    return c;
  }

  /**
   * A new connection of its own, for work that cannot share the command client:
   * - `subscriber`: SUBSCRIBE/PSUBSCRIBE or sharded SSUBSCRIBE (on a Cluster, routed to each
   *   channel's slot owner); a subscribed connection can run nothing else;
   * - `blocking`: BLPOP, XREAD BLOCK, BullMQ workers: no command timeout, `maxRetriesPerRequest: null`.
   * The caller may close it; whatever is still open is closed on shutdown.
   */
  createDedicated(
    kind: DedicatedConnectionKind,
    name: string,
    role: RedisRole = 'state',
  ): RedisClient {
    const c = createRedisClient(this.settings[role], {
      name: `${this.options.prefix}:${kind}:${name}`,
      enableAutoPipelining: false,
      maxRetriesPerRequest: kind === 'blocking' ? null : 2,
      commandTimeout: kind === 'blocking' ? null : undefined,
      shardedSubscribers: kind === 'subscriber',
      scope: this.scopes[role],
    });
    attachConnectionLogging(
      c,
      `${kind}:${name}`,
      describeTopology(this.settings[role].topology),
      this.logger,
    );
    this.dedicated.add(c);
    c.once('end', () => this.dedicated.delete(c));
    return c;
  }

  /**
   * Sets who observes the commands of this app's connections (MetricsModule's Redis command
   * metrics); `undefined` stops it. Commands written by clients this service built are
   * attributed to their role; see {@link redisCommandScope}.
   */
  observeCommands(observer: RedisCommandObserver | undefined): void {
    for (const scope of Object.values(this.scopes)) scope.observer = observer;
  }

  /** The command scope of a role, for clients built outside this service (BullMQ's). */
  commandScope(role: RedisRole = 'state'): RedisCommandScope {
    return this.scopes[role];
  }

  /** Connection settings of a role, for libraries that build their own clients (BullMQ). */
  connectionSettings(role: RedisRole = 'state'): ResolvedConnection {
    return this.settings[role];
  }

  async onApplicationShutdown(): Promise<void> {
    const all = [...this.dedicated, ...this.clients.values()];
    await Promise.all(all.map((c) => closeRedisClient(c)));
    this.dedicated.clear();
    this.clients.clear();
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
