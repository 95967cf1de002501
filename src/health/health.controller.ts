import { SkipThrottle } from '@nestjs/throttler';
import { Controller, Get } from '@nestjs/common';
import { ApiResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { ApiStandardResponses, RESPONSE_HEADERS, REQUEST_ID_HEADER } from '../http';
import { HealthLiveDto, HealthReadyDto } from './health.dto';
import { DatabaseHealthIndicator } from './database.health';
import { RedisHealthIndicator } from './redis.health';

@ApiTags('operations')
@Controller('health')
@SkipThrottle()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly redis: RedisHealthIndicator,
    private readonly db: DatabaseHealthIndicator,
  ) {}

  @Get('live')
  @ApiStandardResponses({
    summary: 'Liveness: the process is up and its event loop answers',
    success: { status: 200, description: 'Alive', type: HealthLiveDto },
    rateLimited: false,
  })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  // Documented below with the same headers as every other operation, instead of Terminus' own schema.
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiStandardResponses({
    summary:
      'Readiness: 200 when both Redis roles and the database answer, 503 with details otherwise',
    success: { status: 200, description: 'Ready', type: HealthReadyDto },
    rateLimited: false,
  })
  @ApiResponse({
    status: 503,
    description: 'Not ready: an indicator is down (see `error`), or the process is shutting down',
    type: HealthReadyDto,
    headers: { [REQUEST_ID_HEADER]: RESPONSE_HEADERS.requestId },
  })
  ready() {
    return this.health.check([
      () => this.redis.isHealthy('state'),
      () => this.redis.isHealthy('cache'),
      () => this.db.isHealthy(),
    ]);
  }
}
