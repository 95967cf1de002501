import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { REDIS_ROLES } from '../redis';

/**
 * The response bodies of the admin Redis diagnostics (`/api/admin/redis/*`), for the OpenAPI
 * document. Every endpoint answers per server: one entry per Cluster master, or the one server.
 */

const ADDR = {
  description: 'host:port of the server (on a Cluster, one master)',
  example: '127.0.0.1:6379',
};
const ERROR = {
  description:
    'Set when this server could not answer (`unavailable: …` when unreachable or timed out, else the Redis error, e.g. a command disabled on a managed service); the data fields are then absent',
  example: 'unavailable: Command timed out',
};
const ROLE = {
  enum: [...REDIS_ROLES],
  description: 'the connection role the servers serve',
  example: 'state',
};

export class SlowlogEntryDto {
  @ApiProperty({ type: 'integer', minimum: 0, description: 'the entry id (increasing)' })
  id: number;
  @ApiProperty({ format: 'date-time', description: 'when the command ran' })
  at: string;
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description: 'execution time in µs (no network, no queueing)',
  })
  durationMicros: number;
  @ApiProperty({
    type: [String],
    description:
      'the command and its arguments as Redis recorded them: at most 32 (then `... (n more arguments)`), each cut at 128 bytes (`... (n more bytes)`); AUTH and HELLO arguments redacted by Redis',
    example: ['EVALSHA', 'e0e1f9fabfc9d4800c877a703b823ac0578ff831', '1', 'nrp:lb:{lb}:board:x'],
  })
  command: string[];
  @ApiProperty({ description: 'ip:port of the client', example: '10.0.0.7:51234' })
  client: string;
  @ApiProperty({
    description: 'the client’s name (`<prefix>:state`, `<prefix>:cache`, … see docs/keyspace.md)',
    example: 'nrp:state',
  })
  clientName: string;
}

export class SlowlogServerDto {
  @ApiProperty(ADDR) addr: string;
  @ApiPropertyOptional(ERROR) error?: string;
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    description: 'entries in the slow log (SLOWLOG LEN)',
  })
  length?: number;
  @ApiPropertyOptional({
    type: 'integer',
    nullable: true,
    description:
      '`slowlog-log-slower-than` in µs (negative: the log is off); null when CONFIG is not allowed',
    example: 10000,
  })
  thresholdMicros?: number | null;
  @ApiPropertyOptional({ type: [SlowlogEntryDto], description: 'newest first' })
  entries?: SlowlogEntryDto[];
}

export class SlowlogDto {
  @ApiProperty(ROLE) role: string;
  @ApiProperty({ type: [SlowlogServerDto] }) servers: SlowlogServerDto[];
}

export class InfoServerDto {
  @ApiProperty(ADDR) addr: string;
  @ApiPropertyOptional(ERROR) error?: string;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'object', additionalProperties: true },
    description:
      'section (lower-case) → field → value. Values are numbers where the text is exactly one, else text; `k=v,…` lists (keyspace `db0`, `cmdstat_*`, `slave0`) are objects',
    example: {
      memory: { used_memory: 1048576, maxmemory_policy: 'noeviction' },
      keyspace: { db0: { keys: 42, expires: 7, avg_ttl: 0 } },
    },
  })
  info?: Record<string, Record<string, unknown>>;
}

export class InfoDto {
  @ApiProperty(ROLE) role: string;
  @ApiProperty({ description: 'the INFO section asked for', example: 'default' })
  section: string;
  @ApiProperty({ type: [InfoServerDto] }) servers: InfoServerDto[];
}

export class LatencyEventDto {
  @ApiProperty({
    description: 'the latency monitor’s event: command, fast-command, fork, aof-fsync-always, …',
    example: 'command',
  })
  event: string;
  @ApiProperty({ format: 'date-time', description: 'when the latest spike happened' })
  at: string;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'the latest spike, ms' })
  latestMs: number;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'the worst spike recorded, ms' })
  maxMs: number;
}

export class LatencyServerDto {
  @ApiProperty(ADDR) addr: string;
  @ApiPropertyOptional(ERROR) error?: string;
  @ApiPropertyOptional({
    type: 'integer',
    nullable: true,
    description:
      '`latency-monitor-threshold` in ms (0: the monitor is off and records nothing); null when CONFIG is not allowed',
    example: 100,
  })
  thresholdMs?: number | null;
  @ApiPropertyOptional({ type: [LatencyEventDto], description: 'LATENCY LATEST' })
  latest?: LatencyEventDto[];
  @ApiPropertyOptional({ description: 'LATENCY DOCTOR: Redis’s own reading, as text' })
  doctor?: string;
}

export class LatencyDto {
  @ApiProperty(ROLE) role: string;
  @ApiProperty({ type: [LatencyServerDto] }) servers: LatencyServerDto[];
}

export class MemoryServerDto {
  @ApiProperty(ADDR) addr: string;
  @ApiPropertyOptional(ERROR) error?: string;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description:
      'MEMORY STATS as an object: bytes and ratios by name (`peak.allocated`, `dataset.bytes`, `fragmentation`, …), `db.<n>` as nested objects',
    example: { 'peak.allocated': 1270376, 'keys.count': 1, fragmentation: 1.08 },
  })
  stats?: Record<string, unknown>;
  @ApiPropertyOptional({ description: 'MEMORY DOCTOR: Redis’s own advice, as text' })
  doctor?: string;
}

export class MemoryDto {
  @ApiProperty(ROLE) role: string;
  @ApiProperty({ type: [MemoryServerDto] }) servers: MemoryServerDto[];
}

export class BigKeyDto {
  @ApiProperty({ description: 'the key name (never its value), as UTF-8', example: 'nrp:feed:{7}' })
  key: string;
  @ApiProperty({ description: 'TYPE: string, list, set, zset, hash, stream, …', example: 'stream' })
  type: string;
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description: 'MEMORY USAGE (aggregates estimated from `samples` elements)',
    example: 81920,
  })
  bytes: number;
}

export class BigKeysServerDto {
  @ApiProperty(ADDR) addr: string;
  @ApiPropertyOptional(ERROR) error?: string;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'keys sampled with MEMORY USAGE' })
  scanned: number;
  @ApiProperty({
    description: 'the SCAN covered the whole keyspace of this server (its cursor returned to 0)',
  })
  complete: boolean;
  @ApiProperty({
    type: 'string',
    // null listed too: validators apply `enum` before `nullable` (OpenAPI 3.0.3 says so).
    enum: ['limit', 'time', 'error', null] as string[],
    nullable: true,
    description:
      'why the scan stopped early: `limit` keys sampled, the `time` budget spent, or an `error` (see `error`; what was measured before is kept); null when complete',
    example: null,
  })
  truncated: 'limit' | 'time' | 'error' | null;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'time spent on this server, ms' })
  elapsedMs: number;
  @ApiProperty({ type: [BigKeyDto], description: 'the biggest keys sampled, biggest first' })
  keys: BigKeyDto[];
  @ApiProperty({
    type: 'object',
    additionalProperties: {
      type: 'object',
      properties: {
        keys: { type: 'integer', minimum: 0 },
        bytes: { type: 'integer', minimum: 0 },
      },
      required: ['keys', 'bytes'],
    },
    description: 'keys and bytes sampled, per type',
    example: { hash: { keys: 12, bytes: 2048 }, string: { keys: 40, bytes: 4096 } },
  })
  byType: Record<string, { keys: number; bytes: number }>;
}

export class BigKeysDto {
  @ApiProperty(ROLE) role: string;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'the SCAN MATCH pattern; null: every key',
    example: null,
  })
  match: string | null;
  @ApiProperty({ type: 'integer', minimum: 1, description: 'keys sampled per server at most' })
  limit: number;
  @ApiProperty({ type: 'integer', minimum: 1, description: 'the time budget, ms' })
  budgetMs: number;
  @ApiProperty({ type: 'integer', minimum: 1, description: 'keys listed per server at most' })
  top: number;
  @ApiProperty({
    type: 'integer',
    minimum: 1,
    description: 'MEMORY USAGE SAMPLES: elements sampled per aggregate key',
  })
  samples: number;
  @ApiProperty({ type: [BigKeysServerDto] }) servers: BigKeysServerDto[];
}
