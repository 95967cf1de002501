import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class HealthLiveDto {
  @ApiProperty({ enum: ['ok'], example: 'ok' }) status: 'ok';
}

/** Terminus' result of one indicator (`redis_state`, `redis_cache`, `database`). */
const INDICATORS = {
  type: 'object' as const,
  additionalProperties: {
    type: 'object',
    required: ['status'],
    properties: {
      status: { type: 'string', enum: ['up', 'degraded', 'down'] },
      message: { type: 'string' },
    },
    additionalProperties: true,
  },
};

/** The Terminus health report: the body of `/health/ready` on 200 and on 503. */
export class HealthReadyDto {
  @ApiProperty({
    enum: ['ok', 'error', 'degraded', 'shutting_down'],
    example: 'ok',
    description: '`ok` on 200; `error` (an indicator is down) or `shutting_down` on 503',
  })
  status: string;

  @ApiPropertyOptional({
    ...INDICATORS,
    description: 'indicators that are up',
    example: { redis_state: { status: 'up', latencyMs: 1 } },
  })
  info?: Record<string, unknown>;

  @ApiPropertyOptional({
    ...INDICATORS,
    description: 'indicators that are down',
    example: { database: { status: 'down', message: 'connection refused' } },
  })
  error?: Record<string, unknown>;

  @ApiProperty({
    ...INDICATORS,
    description: 'every indicator',
    example: { redis_state: { status: 'up', latencyMs: 1 }, database: { status: 'up' } },
  })
  details: Record<string, unknown>;
}
