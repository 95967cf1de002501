import { Controller, Get, Headers, HttpCode, Param, Post } from '@nestjs/common';
import { ApiHeader, ApiTags } from '@nestjs/swagger';
import { Authenticated, CurrentUser, Identity } from '../auth';
import { ApiStandardResponses } from '../http';
import { JobView, QueueService } from '../queue';
import {
  ApiJobIdParam,
  ApiQueueParam,
  idempotencyKeyHeader,
  IDEMPOTENCY_KEY,
  JobAcceptedDto,
  JobDto,
  jobIdParam,
  NotificationDto,
  queueParam,
} from './jobs.dto';
import { Notification, NotificationsService } from './notifications.service';
import { JobNotFoundError } from '../queue';

const QUEUE_DOWN = 'Redis is unavailable, so the job cannot be queued or read (`Retry-After`)';

@ApiTags('jobs')
@Controller('api')
@Authenticated()
export class JobsController {
  constructor(
    private readonly queues: QueueService,
    private readonly notifications: NotificationsService,
  ) {}

  /** Queues a report; the worker role generates it (`GET /api/jobs/report/:id` to follow it). */
  @Post('reports')
  @HttpCode(202)
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Repeat the request with the same key (per user, for QUEUE_IDEMPOTENCY_TTL_MS) to get the first job’s id instead of a new job',
    schema: {
      type: 'string',
      pattern: IDEMPOTENCY_KEY.source,
      minLength: 1,
      maxLength: 200,
      example: 'report-2024-02-29',
    },
  })
  @ApiStandardResponses({
    summary: 'Queue a report job',
    success: { status: 202, description: 'Queued', type: JobAcceptedDto },
    errors: { 400: 'Idempotency-Key is not 1-200 printable ASCII characters', 503: QUEUE_DOWN },
    jsonBody: 'unused',
    auth: {},
  })
  async report(
    @CurrentUser() user: Identity,
    @Headers('idempotency-key') key?: string,
  ): Promise<{ jobId: string }> {
    const { jobId } = await this.queues.add(
      'report',
      'daily',
      {},
      { userId: user.id, idempotencyKey: idempotencyKeyHeader(key) },
    );
    return { jobId };
  }

  /** A job the caller queued: its state, attempts, result or failure reason. */
  @Get('jobs/:queue/:id')
  @ApiQueueParam()
  @ApiJobIdParam()
  @ApiStandardResponses({
    summary: 'A job you queued',
    success: { status: 200, description: 'The job', type: JobDto },
    errors: {
      400: 'queue is not one of the queues, or id is not a job id',
      404: 'No such job, or not one you queued (completed jobs are kept up to QUEUE_KEEP_COMPLETED)',
      503: QUEUE_DOWN,
    },
    auth: {},
  })
  async job(
    @CurrentUser() user: Identity,
    @Param('queue') queue: string,
    @Param('id') id: string,
  ): Promise<JobView> {
    const q = queueParam(queue);
    const job = await this.queues.get(q, jobIdParam(id));
    if (!job || job.userId !== user.id) throw new JobNotFoundError(q, id);
    return job;
  }

  /** The caller's newest notifications (stored by the notification queue's processor). */
  @Get('notifications')
  @ApiStandardResponses({
    summary: 'Your newest notifications (at most 50)',
    success: { status: 200, description: 'Newest first', type: [NotificationDto] },
    errors: { 503: 'Redis is unavailable' },
    auth: {},
  })
  notificationsOf(@CurrentUser() user: Identity): Promise<Notification[]> {
    return this.notifications.list(user.id);
  }
}
