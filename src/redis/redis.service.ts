import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { Cluster } from 'ioredis';
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
export class RedisService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  private readonly clients = new Map<RedisRole, RedisClient>();
  private readonly dedicated = new Set<RedisClient>();
  private readonly settings: Record<RedisRole, ResolvedConnection>;
  /** One stall breaker per server: roles on the same instance fail fast together. */
  private readonly breakers = new Map<string, StallBreaker>();

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

  /** Connection settings of a role, for libraries that build their own clients (BullMQ). */
  connectionSettings(role: RedisRole = 'state'): ResolvedConnection {
    return this.settings[role];
  }

  onApplicationBootstrap(): void {
    // Not awaited: a Redis that is down at start-up must not stop the app (readiness reports it).
    void this.checkEvictionPolicy();
  }

  /** Warns when the `state` instance may evict keys: queues, locks and sessions would vanish silently. */
  async checkEvictionPolicy(): Promise<string[]> {
    const client = this.client('state');
    const nodes = client instanceof Cluster ? client.nodes('master') : [client];
    const policies: string[] = [];
    try {
      for (const node of nodes) {
        const reply = (await node.call('CONFIG', 'GET', 'maxmemory-policy')) as string[];
        policies.push(reply[1] ?? 'unknown');
      }
    } catch (err) {
      this.logger.warn(
        `redis state: could not read maxmemory-policy (${(err as Error).message}); make sure it is noeviction`,
      );
      return policies;
    }
    const bad = policies.filter((p) => p !== 'noeviction');
    if (bad.length > 0) {
      this.logger.warn(
        `redis state: maxmemory-policy is "${bad[0]}", not "noeviction": under memory pressure Redis may evict queue jobs, locks, sessions and counters. Set maxmemory-policy noeviction on the state instance (cache data may live on an evictable instance: REDIS_CACHE_URL).`,
      );
    }
    return policies;
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
