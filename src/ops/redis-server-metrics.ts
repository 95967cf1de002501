import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleInit,
  Optional,
} from '@nestjs/common';
import { Cluster, Redis } from 'ioredis';
import type { Counter, Gauge } from 'prom-client';
import { MetricsService } from '../metrics';
import {
  describeTopology,
  isDisconnected,
  REDIS_ROLES,
  RedisRole,
  RedisService,
  RedisTopology,
} from '../redis';
import { OPS_MODULE_OPTIONS, OpsModuleOptions } from './ops.module-definition';
import { checkServer, parseInfo, parseInfoFields, RedisInfo } from './redis-info';

/** One Redis server as seen at a scrape: the roles it serves and what it answered (nothing when down). */
export interface ServerState {
  /** `host:port` (a Cluster master, a standalone server), or `sentinel:<name>` for a Sentinel-managed master. */
  addr: string;
  roles: RedisRole[];
  info?: RedisInfo;
  slowlogLength?: number;
}

/** Where to send a server's commands; `send` undefined: known to be down, nothing is sent. */
interface Target {
  addr: string;
  send?: (command: string, args: string[]) => Promise<unknown>;
}

const DEFAULT_TIMEOUT_MS = 500;

/** INFO fields exposed as gauges, by redis_exporter's names. */
const GAUGES: [name: string, field: string, help: string][] = [
  ['redis_uptime_in_seconds', 'uptime_in_seconds', 'Seconds since the server started'],
  ['redis_connected_clients', 'connected_clients', 'Client connections open on the server'],
  ['redis_blocked_clients', 'blocked_clients', 'Clients waiting in a blocking command'],
  ['redis_memory_used_bytes', 'used_memory', 'Memory used by the server (used_memory)'],
  ['redis_memory_used_rss_bytes', 'used_memory_rss', 'Resident memory of the server process'],
  ['redis_memory_used_peak_bytes', 'used_memory_peak', 'Peak of used_memory'],
  ['redis_memory_max_bytes', 'maxmemory', 'maxmemory setting (0: no limit)'],
  ['redis_mem_fragmentation_ratio', 'mem_fragmentation_ratio', 'RSS / used_memory'],
  // redis_exporter's redis_instantaneous_ops_per_sec, without the abbreviated unit promtool refuses.
  ['redis_instantaneous_ops_per_second', 'instantaneous_ops_per_sec', 'Commands per second'],
  ['redis_aof_enabled', 'aof_enabled', 'Append-only file on (1) or off (0)'],
  ['redis_aof_rewrite_in_progress', 'aof_rewrite_in_progress', 'An AOF rewrite is running'],
  [
    'redis_aof_last_write_status',
    'aof_last_write_status',
    'Last AOF write succeeded (1) or failed (0)',
  ],
  [
    'redis_rdb_last_bgsave_status',
    'rdb_last_bgsave_status',
    'Last RDB save succeeded (1) or failed (0)',
  ],
  [
    'redis_rdb_changes_since_last_save',
    'rdb_changes_since_last_save',
    'Writes since the last RDB save',
  ],
  ['redis_rdb_last_save_timestamp_seconds', 'rdb_last_save_time', 'Unix time of the last RDB save'],
  ['redis_connected_slaves', 'connected_slaves', 'Replicas connected to this server'],
  ['redis_master_repl_offset', 'master_repl_offset', 'Replication offset of this server'],
];

/** Cumulative INFO counters, exposed as counters (`_total`), by redis_exporter's names. */
const COUNTERS: [name: string, field: string, help: string][] = [
  ['redis_evicted_keys_total', 'evicted_keys', 'Keys evicted because of maxmemory'],
  ['redis_expired_keys_total', 'expired_keys', 'Keys deleted because their TTL ran out'],
  ['redis_keyspace_hits_total', 'keyspace_hits', 'Key lookups that found the key'],
  ['redis_keyspace_misses_total', 'keyspace_misses', 'Key lookups that did not find the key'],
  ['redis_rejected_connections_total', 'rejected_connections', 'Connections refused (maxclients)'],
  [
    'redis_commands_processed_total',
    'total_commands_processed',
    'Commands processed by the server',
  ],
  ['redis_connections_received_total', 'total_connections_received', 'Connections accepted'],
  ['redis_net_input_bytes_total', 'total_net_input_bytes', 'Bytes read from the network'],
  ['redis_net_output_bytes_total', 'total_net_output_bytes', 'Bytes written to the network'],
];

/** INFO values as numbers: `ok`/`up` → 1, `err`/`down` → 0, anything else parsed or skipped. */
function numeric(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (v === 'ok' || v === 'up') return 1;
  if (v === 'err' || v === 'down') return 0;
  const n = Number(v);
  return v.trim() !== '' && Number.isFinite(n) ? n : undefined;
}

/** Resolves with `p`'s value, or undefined when it fails or takes longer than `ms`. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
    timer.unref();
  });
  try {
    return await Promise.race([p.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** `host:port` of a standalone URL (never its credentials). */
function hostPort(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || 6379}`;
}

/**
 * The state of every Redis server the app uses, read at scrape: one `INFO` and one
 * `SLOWLOG LEN` per distinct server (each Cluster master; the state and cache roles on one
 * server are asked once and reported under both), all in parallel, each bounded by
 * `serverMetricsTimeoutMs`, so a dead or frozen Redis costs a scrape at most that long and
 * shows as `redis_up 0`. Metric names follow oliver006/redis_exporter, with `role` and `addr`
 * labels. The same INFO runs the start-up checks ({@link checkServer}): logged once at start,
 * exposed at every scrape as `redis_config_warnings{role,check}`.
 *
 * Commands go through each role's command client (no extra connection): while its server is
 * known to be down (connection lost, stall breaker open) it fails at once; a Cluster master is
 * asked on the cluster client's own connection to it.
 */
@Injectable()
export class RedisServerMetrics implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger('RedisChecks');
  private readonly timeoutMs: number;
  private pending?: Promise<ServerState[]>;
  /** Cluster masters last seen per role: reported down while the cluster client knows none. */
  private readonly lastMasters = new Map<RedisRole, string[]>();

  constructor(
    private readonly redis: RedisService,
    @Optional() private readonly metrics: MetricsService = MetricsService.standalone(),
    @Optional() @Inject(OPS_MODULE_OPTIONS) private readonly options: OpsModuleOptions = {},
  ) {
    this.timeoutMs = options.serverMetricsTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  onModuleInit(): void {
    if (this.options.serverMetrics === false) return;
    this.register();
  }

  onApplicationBootstrap(): void {
    if (this.options.startupChecks === false) return;
    // Not awaited: a Redis that is down at start-up must not stop the app (readiness reports it).
    void this.runStartupChecks();
  }

  /**
   * Every server's state, read now: concurrent callers (the collectors of one scrape) share
   * one read.
   */
  snapshot(timeoutMs = this.timeoutMs): Promise<ServerState[]> {
    if (this.pending) return this.pending;
    const p = this.read(timeoutMs);
    this.pending = p;
    // Kept until the scrape's other collectors (called in the same tick) have taken it.
    void p.finally(() => setImmediate(() => this.pending === p && (this.pending = undefined)));
    return p;
  }

  /**
   * Runs the start-up checks once and logs each problem as a warning (and a server that could
   * not be asked). Returns the results per role and server.
   */
  async runStartupChecks(): Promise<
    { role: RedisRole; addr: string; check: string; problem?: string }[]
  > {
    // At start-up the clients may still be connecting: wait as long as a first command may.
    const settings = this.redis.connectionSettings('state');
    await Promise.all(REDIS_ROLES.map((r) => this.whenReady(r, settings.connectTimeoutMs)));
    const servers = await this.read(Math.max(this.timeoutMs, settings.commandTimeoutMs));
    const results: { role: RedisRole; addr: string; check: string; problem?: string }[] = [];
    for (const s of servers) {
      if (!s.info) {
        this.logger.warn(
          `redis ${s.roles.join('+')} ${s.addr}: could not run the start-up checks (no answer); redis_config_warnings shows them once it answers`,
        );
        continue;
      }
      for (const role of s.roles) {
        for (const r of checkServer(role, s.info, this.ownServer(role, s))) {
          results.push({ role, addr: s.addr, ...r });
          if (r.problem) this.logger.warn(`redis ${role} ${s.addr}: ${r.problem}`);
        }
      }
    }
    return results;
  }

  private async whenReady(role: RedisRole, ms: number): Promise<void> {
    const client = this.redis.client(role);
    if (client.status === 'ready') return;
    await within(new Promise<void>((resolve) => client.once('ready', () => resolve())), ms);
  }

  /** False for the cache role on a server that also serves the state role (the default). */
  private ownServer(role: RedisRole, server: ServerState): boolean {
    return role === 'state' || !server.roles.includes('state');
  }

  private async read(timeoutMs: number): Promise<ServerState[]> {
    const byAddr = new Map<string, { target: Target; roles: RedisRole[] }>();
    for (const role of REDIS_ROLES) {
      for (const target of this.targets(role)) {
        const seen = byAddr.get(target.addr);
        if (seen) seen.roles.push(role);
        else byAddr.set(target.addr, { target, roles: [role] });
      }
    }
    return Promise.all(
      [...byAddr.values()].map(async ({ target, roles }): Promise<ServerState> => {
        const state: ServerState = { addr: target.addr, roles };
        if (!target.send) return state;
        const reply = await within(
          Promise.all([target.send('INFO', []), target.send('SLOWLOG', ['LEN'])]),
          timeoutMs,
        );
        if (!reply) return state;
        state.info = parseInfo(String(reply[0]));
        state.slowlogLength = Number(reply[1]);
        return state;
      }),
    );
  }

  private targets(role: RedisRole): Target[] {
    const client = this.redis.client(role);
    const topology: RedisTopology = this.redis.connectionSettings(role).topology;
    if (client instanceof Cluster) {
      const masters = client.nodes('master');
      if (masters.length === 0) {
        const known = this.lastMasters.get(role) ?? [describeTopology(topology)];
        return known.map((addr) => ({ addr }));
      }
      const targets = masters.map((node: Redis) => ({
        addr: `${node.options.host}:${node.options.port}`,
        send:
          node.status === 'ready'
            ? (command: string, args: string[]) => node.call(command, ...args)
            : undefined,
      }));
      this.lastMasters.set(
        role,
        targets.map((t) => t.addr),
      );
      return targets;
    }
    const addr =
      topology.mode === 'standalone'
        ? hostPort(topology.url)
        : topology.mode === 'sentinel'
          ? `sentinel:${topology.name}`
          : describeTopology(topology);
    return [
      {
        addr,
        send: isDisconnected(client)
          ? undefined
          : (command: string, args: string[]) => client.call(command, ...args),
      },
    ];
  }

  private register(): void {
    const gauge = (
      name: string,
      help: string,
      labelNames: string[],
      fill: (g: Gauge<string>, servers: ServerState[]) => void,
    ): void => {
      const snapshot = () => this.snapshot();
      this.metrics.gauge({
        name,
        help,
        labelNames,
        async collect(this: Gauge<string>) {
          const servers = await snapshot();
          this.reset();
          fill(this, servers);
        },
      });
    };
    const each = (
      servers: ServerState[],
      fn: (s: ServerState & { info: RedisInfo }, role: RedisRole) => void,
    ) => {
      for (const s of servers) {
        if (!s.info) continue;
        for (const role of s.roles) fn(s as ServerState & { info: RedisInfo }, role);
      }
    };
    const labels = ['role', 'addr'];

    gauge(
      'redis_up',
      'The server answered INFO within the scrape timeout (1) or not (0)',
      labels,
      (g, servers) => {
        for (const s of servers)
          for (const role of s.roles) g.set({ role, addr: s.addr }, s.info ? 1 : 0);
      },
    );
    for (const [name, field, help] of GAUGES) {
      gauge(name, help, labels, (g, servers) =>
        each(servers, (s, role) => {
          const v = numeric(s.info[field]);
          if (v !== undefined) g.set({ role, addr: s.addr }, v);
        }),
      );
    }
    for (const [name, field, help] of COUNTERS) {
      const snapshot = () => this.snapshot();
      this.metrics.counter({
        name,
        help: `${help} (the server's cumulative INFO ${field}; resets when it restarts)`,
        labelNames: labels,
        async collect(this: Counter<string>) {
          const servers = await snapshot();
          this.reset();
          each(servers, (s, role) => {
            const v = numeric(s.info[field]);
            if (v !== undefined && v >= 0) this.inc({ role, addr: s.addr }, v);
          });
        },
      });
    }
    gauge('redis_slowlog_length', 'Entries in the slow log (SLOWLOG LEN)', labels, (g, servers) =>
      each(servers, (s, role) => {
        if (Number.isFinite(s.slowlogLength))
          g.set({ role, addr: s.addr }, s.slowlogLength as number);
      }),
    );
    gauge(
      'redis_instance_info',
      'Information about the server (value 1); replication_role is master or slave',
      [...labels, 'redis_version', 'redis_mode', 'replication_role', 'maxmemory_policy'],
      (g, servers) =>
        each(servers, (s, role) =>
          g.set(
            {
              role,
              addr: s.addr,
              redis_version: s.info.redis_version ?? '',
              redis_mode: s.info.redis_mode ?? '',
              replication_role: s.info.role ?? '',
              maxmemory_policy: s.info.maxmemory_policy ?? '',
            },
            1,
          ),
        ),
    );
    // A replica: its link to its master.
    const master = [...labels, 'master_host', 'master_port'];
    const ofMaster = (field: string): ((g: Gauge<string>, servers: ServerState[]) => void) => {
      return (g, servers) =>
        each(servers, (s, role) => {
          const v = numeric(s.info[field]);
          if (s.info.role === 'slave' && v !== undefined)
            g.set(
              {
                role,
                addr: s.addr,
                master_host: s.info.master_host ?? '',
                master_port: s.info.master_port ?? '',
              },
              v,
            );
        });
    };
    gauge(
      'redis_master_link_up',
      'A replica: its link to its master is up (1) or down (0)',
      master,
      ofMaster('master_link_status'),
    );
    gauge(
      'redis_master_last_io_seconds_ago',
      'A replica: seconds since it last heard from its master',
      master,
      ofMaster('master_last_io_seconds_ago'),
    );
    gauge(
      'redis_master_sync_in_progress',
      'A replica: a full sync from its master is running',
      master,
      ofMaster('master_sync_in_progress'),
    );
    // A master: each connected replica's lag and offset.
    const slave = [...labels, 'slave_ip', 'slave_port', 'slave_state'];
    const ofSlaves = (
      field: 'lag' | 'offset',
    ): ((g: Gauge<string>, servers: ServerState[]) => void) => {
      return (g, servers) =>
        each(servers, (s, role) => {
          for (const [key, value] of Object.entries(s.info)) {
            if (!/^slave\d+$/.test(key)) continue;
            const f = parseInfoFields(value);
            const v = numeric(f[field]);
            if (v === undefined) continue;
            g.set(
              {
                role,
                addr: s.addr,
                slave_ip: f.ip ?? '',
                slave_port: f.port ?? '',
                slave_state: f.state ?? '',
              },
              v,
            );
          }
        });
    };
    gauge(
      'redis_connected_slave_lag_seconds',
      'A master: seconds since each replica last acknowledged',
      slave,
      ofSlaves('lag'),
    );
    gauge(
      'redis_connected_slave_offset_bytes',
      'A master: replication offset each replica acknowledged',
      slave,
      ofSlaves('offset'),
    );
    // Keys per database.
    const db = [...labels, 'db'];
    const ofDbs = (
      field: 'keys' | 'expires',
    ): ((g: Gauge<string>, servers: ServerState[]) => void) => {
      return (g, servers) =>
        each(servers, (s, role) => {
          for (const [key, value] of Object.entries(s.info)) {
            if (!/^db\d+$/.test(key)) continue;
            const v = numeric(parseInfoFields(value)[field]);
            if (v !== undefined) g.set({ role, addr: s.addr, db: key }, v);
          }
        });
    };
    gauge('redis_db_keys', 'Keys per database', db, ofDbs('keys'));
    gauge('redis_db_keys_expiring', 'Keys with a TTL per database', db, ofDbs('expires'));
    // The start-up checks, evaluated on this scrape's INFO.
    gauge(
      'redis_config_warnings',
      'A start-up check fails (1) or passes (0) on the role’s servers (any Cluster master); absent while none of them answers. Checks: eviction_policy, aof_disabled, redis_version, maxmemory_unset',
      ['role', 'check'],
      (g, servers) => {
        const worst = new Map<string, number>();
        each(servers, (s, role) => {
          for (const r of checkServer(role, s.info, this.ownServer(role, s))) {
            const key = `${role}\0${r.check}`;
            worst.set(key, Math.max(worst.get(key) ?? 0, r.problem ? 1 : 0));
          }
        });
        for (const [key, v] of worst) {
          const [role, check] = key.split('\0');
          g.set({ role, check }, v);
        }
      },
    );
  }
}
