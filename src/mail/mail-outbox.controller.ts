import { BadRequestException, Controller, Get, Query } from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import { ApiStandardResponses } from '../http';
import { OutboxDto } from './mail.dto';
import { MailService, MailTransportKind, OutboxEntry } from './mail.service';

export const OUTBOX_DEFAULT_LIMIT = 50;
export const OUTBOX_MAX_LIMIT = 1000;

/**
 * `GET /api/dev/outbox`: the development outbox, newest first. Registered only when the module's
 * `outboxEndpoint` extra is on (the composition root: never in production, never in the worker role).
 */
@ApiTags('dev')
@Controller('api/dev/outbox')
export class MailOutboxController {
  constructor(private readonly mail: MailService) {}

  @Get()
  @ApiQuery({
    name: 'limit',
    required: false,
    description: 'how many messages, newest first',
    schema: {
      type: 'integer',
      minimum: 1,
      maximum: OUTBOX_MAX_LIMIT,
      default: OUTBOX_DEFAULT_LIMIT,
      example: 10,
    },
  })
  @ApiStandardResponses({
    summary:
      'The development outbox: messages "sent" without SMTP_URL, newest first (not served in production)',
    success: { status: 200, description: 'The newest messages', type: OutboxDto },
    errors: {
      400: `limit is not an integer from 1 to ${OUTBOX_MAX_LIMIT}`,
      503: 'Redis is unavailable (the outbox lives in Redis)',
    },
  })
  async list(
    @Query('limit') limit?: string,
  ): Promise<{ transport: MailTransportKind; messages: OutboxEntry[] }> {
    const raw = limit ?? String(OUTBOX_DEFAULT_LIMIT);
    const n = Number(raw);
    if (!/^\d{1,4}$/.test(raw) || n < 1 || n > OUTBOX_MAX_LIMIT)
      throw new BadRequestException(`limit must be an integer from 1 to ${OUTBOX_MAX_LIMIT}`);
    return { transport: this.mail.transport, messages: await this.mail.outbox(n) };
  }
}
