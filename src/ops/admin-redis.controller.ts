import { BadRequestException, Controller, Get, Query } from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth';
import { ApiStandardResponses } from '../http';
import { REDIS_ROLES, RedisRole } from '../redis';
import { BigKeysDto, InfoDto, LatencyDto, MemoryDto, SlowlogDto } from './admin-redis.dto';
import {
  BigKeysServer,
  InfoServer,
  LatencyServer,
  MemoryServer,
  RedisDiagnostics,
  SlowlogServer,
} from './redis-diagnostics.service';

/** Bounds of the query parameters (documented in OpenAPI from these same values). */
export const ADMIN_REDIS_LIMITS = {
  count: { min: 1, max: 128, default: 32 },
  limit: { min: 1, max: 100_000, default: 10_000 },
  top: { min: 1, max: 100, default: 20 },
  samples: { min: 1, max: 100, default: 5 },
  budgetMs: { min: 100, max: 10_000, default: 2_000 },
} as const;

/** The INFO sections one may ask for (Redis 7). */
export const INFO_SECTIONS = [
  'default',
  'all',
  'everything',
  'server',
  'clients',
  'memory',
  'persistence',
  'stats',
  'replication',
  'cpu',
  'modules',
  'commandstats',
  'latencystats',
  'errorstats',
  'cluster',
  'keyspace',
] as const;

/**
 * A SCAN MATCH glob: key-name characters (letters, digits, `_ . @ = + : { } # / -`) and the glob
 * syntax `* ? [ ] ^ \`; 1-200 characters. Spaces, quotes and control characters are refused.
 */
export const MATCH_PATTERN = '^[A-Za-z0-9_.@=+:{}#/*?\\[\\]^\\\\-]{1,200}$';
const MATCH = new RegExp(MATCH_PATTERN);

const REDIS_DOWN = 'Redis is unavailable: no server of the role answered';
const BAD_ROLE = `role must be one of ${REDIS_ROLES.join(', ')}`;

type Bounds = { min: number; max: number; default: number };

function intQuery(name: string, value: unknown, b: Bounds): number {
  if (value === undefined) return b.default;
  const n = typeof value === 'string' && /^\d{1,7}$/.test(value) ? Number(value) : NaN;
  if (!(n >= b.min && n <= b.max))
    throw new BadRequestException(`${name} must be an integer from ${b.min} to ${b.max}`);
  return n;
}

function roleQuery(value: unknown): RedisRole {
  if (value === undefined) return 'state';
  if (typeof value !== 'string' || !(REDIS_ROLES as readonly string[]).includes(value))
    throw new BadRequestException(BAD_ROLE);
  return value as RedisRole;
}

function sectionQuery(value: unknown): string {
  if (value === undefined) return 'default';
  if (typeof value !== 'string' || !(INFO_SECTIONS as readonly string[]).includes(value))
    throw new BadRequestException(`section must be one of ${INFO_SECTIONS.join(', ')}`);
  return value;
}

function matchQuery(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !MATCH.test(value))
    throw new BadRequestException(
      'match must be a SCAN glob of 1-200 characters: letters, digits, _ . @ = + : { } # / - and * ? [ ] ^ \\',
    );
  return value;
}

const intSchema = (b: Bounds, example?: number) => ({
  type: 'integer' as const,
  minimum: b.min,
  maximum: b.max,
  default: b.default,
  ...(example === undefined ? {} : { example }),
});

const ApiRoleQuery = (): MethodDecorator =>
  ApiQuery({
    name: 'role',
    required: false,
    description:
      'which Redis: `state` (sessions, locks, queues, …) or `cache`; the same server when REDIS_CACHE_URL is unset',
    schema: { type: 'string', enum: [...REDIS_ROLES], default: 'state' },
  });

const L = ADMIN_REDIS_LIMITS;

/**
 * Redis diagnostics for operators (admin role; API processes only): the slow log, INFO, the
 * latency monitor, memory statistics and a bounded big-key scan, per server (each Cluster
 * master). Read-only, and never a key's value. Served only where the ops module has
 * `adminEndpoints` (the composition root: every role but the worker).
 */
@ApiTags('admin')
@Controller('api/admin/redis')
@Roles('admin')
export class AdminRedisController {
  constructor(private readonly diagnostics: RedisDiagnostics) {}

  @Get('slowlog')
  @ApiRoleQuery()
  @ApiQuery({
    name: 'count',
    required: false,
    description: 'newest entries per server',
    schema: intSchema(L.count),
  })
  @ApiStandardResponses({
    summary: 'The slow log of each server (SLOWLOG GET), newest first',
    description:
      'Commands that ran longer than `slowlog-log-slower-than` (execution time only). Arguments are as Redis recorded them (cut by Redis at 32 arguments of 128 bytes): a slow write can show part of the value it wrote.',
    success: { status: 200, description: 'Slow-log entries per server', type: SlowlogDto },
    errors: { 400: `${BAD_ROLE}, or count out of range`, 503: REDIS_DOWN },
    auth: { roles: ['admin'] },
  })
  async slowlog(
    @Query('role') role?: unknown,
    @Query('count') count?: unknown,
  ): Promise<{ role: RedisRole; servers: SlowlogServer[] }> {
    const r = roleQuery(role);
    const n = intQuery('count', count, L.count);
    return { role: r, servers: await this.diagnostics.slowlog(r, n) };
  }

  @Get('info')
  @ApiRoleQuery()
  @ApiQuery({
    name: 'section',
    required: false,
    description: 'the INFO section (`everything` adds commandstats and latencystats)',
    schema: { type: 'string', enum: [...INFO_SECTIONS], default: 'default' },
  })
  @ApiStandardResponses({
    summary: 'INFO of each server, parsed into sections of fields',
    success: { status: 200, description: 'INFO per server', type: InfoDto },
    errors: { 400: `${BAD_ROLE}, or section is not an INFO section`, 503: REDIS_DOWN },
    auth: { roles: ['admin'] },
  })
  async info(
    @Query('role') role?: unknown,
    @Query('section') section?: unknown,
  ): Promise<{ role: RedisRole; section: string; servers: InfoServer[] }> {
    const r = roleQuery(role);
    const s = sectionQuery(section);
    return { role: r, section: s, servers: await this.diagnostics.info(r, s) };
  }

  @Get('latency')
  @ApiRoleQuery()
  @ApiStandardResponses({
    summary: 'The latency monitor of each server (LATENCY LATEST, LATENCY DOCTOR)',
    description:
      'Empty unless `latency-monitor-threshold` is set (e.g. `CONFIG SET latency-monitor-threshold 100`); `thresholdMs` says.',
    success: { status: 200, description: 'Latency events per server', type: LatencyDto },
    errors: { 400: BAD_ROLE, 503: REDIS_DOWN },
    auth: { roles: ['admin'] },
  })
  async latency(
    @Query('role') role?: unknown,
  ): Promise<{ role: RedisRole; servers: LatencyServer[] }> {
    const r = roleQuery(role);
    return { role: r, servers: await this.diagnostics.latency(r) };
  }

  @Get('memory')
  @ApiRoleQuery()
  @ApiStandardResponses({
    summary: 'Memory statistics of each server (MEMORY STATS, MEMORY DOCTOR)',
    success: { status: 200, description: 'Memory statistics per server', type: MemoryDto },
    errors: { 400: BAD_ROLE, 503: REDIS_DOWN },
    auth: { roles: ['admin'] },
  })
  async memory(
    @Query('role') role?: unknown,
  ): Promise<{ role: RedisRole; servers: MemoryServer[] }> {
    const r = roleQuery(role);
    return { role: r, servers: await this.diagnostics.memory(r) };
  }

  @Get('bigkeys')
  @ApiRoleQuery()
  @ApiQuery({
    name: 'limit',
    required: false,
    description: 'keys sampled per server at most',
    schema: intSchema(L.limit, 1000),
  })
  @ApiQuery({
    name: 'top',
    required: false,
    description: 'biggest keys listed per server',
    schema: intSchema(L.top),
  })
  @ApiQuery({
    name: 'samples',
    required: false,
    description: 'MEMORY USAGE SAMPLES: elements sampled per list, set, hash, sorted set',
    schema: intSchema(L.samples),
  })
  @ApiQuery({
    name: 'budgetMs',
    required: false,
    description: 'time budget of the whole scan, ms (no SCAN starts after it)',
    schema: intSchema(L.budgetMs, 1000),
  })
  @ApiQuery({
    name: 'match',
    required: false,
    description:
      'only keys matching this SCAN glob (e.g. `nrp:feed:*`); default: every key. SCAN still walks the whole keyspace, so the time budget bounds a narrow pattern',
    schema: { type: 'string', minLength: 1, maxLength: 200, pattern: MATCH_PATTERN, example: '*' },
  })
  @ApiStandardResponses({
    summary: 'The biggest keys of each server: a bounded SCAN with MEMORY USAGE sampling',
    description:
      'SCAN (never KEYS) of every server in parallel (each Cluster master), 500 keys per call, each batch measured with one pipeline of MEMORY USAGE and TYPE; stops at `limit` keys per server or when `budgetMs` is spent. Names and sizes only, never values. `complete` says whether the whole keyspace was covered, `truncated` why not.',
    success: { status: 200, description: 'The biggest keys per server', type: BigKeysDto },
    errors: {
      400: `${BAD_ROLE}, limit, top, samples or budgetMs out of range, or match not a SCAN glob`,
      409: 'A bigkeys scan is already running in this process (one at a time); retry when it has answered',
      503: REDIS_DOWN,
    },
    auth: { roles: ['admin'] },
  })
  async bigKeys(
    @Query('role') role?: unknown,
    @Query('limit') limit?: unknown,
    @Query('top') top?: unknown,
    @Query('samples') samples?: unknown,
    @Query('budgetMs') budgetMs?: unknown,
    @Query('match') match?: unknown,
  ): Promise<{
    role: RedisRole;
    match: string | null;
    limit: number;
    top: number;
    samples: number;
    budgetMs: number;
    servers: BigKeysServer[];
  }> {
    const o = {
      role: roleQuery(role),
      match: matchQuery(match),
      limit: intQuery('limit', limit, L.limit),
      top: intQuery('top', top, L.top),
      samples: intQuery('samples', samples, L.samples),
      budgetMs: intQuery('budgetMs', budgetMs, L.budgetMs),
    };
    const servers = await this.diagnostics.bigKeys(o.role, o);
    return { ...o, match: o.match ?? null, servers };
  }
}
