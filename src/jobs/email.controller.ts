import { Body, Controller, Headers, HttpCode, Post } from '@nestjs/common';
import { ApiHeader, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Authenticated, CurrentUser, Identity } from '../auth';
import {
  ApiStandardResponses,
  IsEmailAddress,
  IsText,
  MAX_EMAIL_LENGTH,
  RequiredField,
} from '../http';
import { QueueService } from '../queue';
import { idempotencyKeyHeader, IDEMPOTENCY_KEY, JobAcceptedDto } from './jobs.dto';

export const SUBJECT = { min: 1, max: 200 };

export class SendEmailDto {
  @ApiProperty({
    example: 'ada@example.com',
    format: 'email',
    minLength: 3,
    maxLength: MAX_EMAIL_LENGTH,
    description:
      'the recipient: an ASCII e-mail address (an internationalised domain in its xn-- form)',
  })
  @RequiredField(IsEmailAddress())
  email: string;

  @ApiProperty({
    example: 'Your weekly digest',
    minLength: SUBJECT.min,
    maxLength: SUBJECT.max,
    description: 'one line: no control characters or line breaks, not blank',
  })
  @RequiredField(IsText(SUBJECT))
  subject: string;
}

@ApiTags('jobs')
@Controller('api')
@Authenticated()
export class EmailController {
  constructor(private readonly queues: QueueService) {}

  /** The seed's `POST /api/send-email`, as a job: 202 with its id (`GET /api/jobs/email/:id`). */
  @Post('send-email')
  @HttpCode(202)
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Repeat the request with the same key (per user, for QUEUE_IDEMPOTENCY_TTL_MS) to get the first job’s id instead of a second e-mail',
    schema: {
      type: 'string',
      pattern: IDEMPOTENCY_KEY.source,
      minLength: 1,
      maxLength: 200,
      example: 'welcome-ada-2024-02-29',
    },
  })
  @ApiStandardResponses({
    summary: 'Queue an e-mail (sent once by the worker role: SMTP, or the development outbox)',
    success: { status: 202, description: 'Queued', type: JobAcceptedDto },
    errors: {
      400: 'Idempotency-Key is not 1-200 printable ASCII characters',
      503: 'Redis is unavailable, so the job cannot be queued (`Retry-After`)',
    },
    jsonBody: true,
    auth: {},
  })
  async send(
    @CurrentUser() user: Identity,
    @Body() dto: SendEmailDto,
    @Headers('idempotency-key') key?: string,
  ): Promise<{ jobId: string }> {
    const { jobId } = await this.queues.add(
      'email',
      'send',
      { email: dto.email, subject: dto.subject },
      { userId: user.id, idempotencyKey: idempotencyKeyHeader(key) },
    );
    return { jobId };
  }
}
