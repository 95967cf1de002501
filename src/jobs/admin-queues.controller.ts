import { BadRequestException, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth';
import { ApiStandardResponses } from '../http';
import { FailedJobView, JobView, QueueService } from '../queue';
import {
  ApiJobIdParam,
  ApiQueueParam,
  FailedJobsDto,
  JobDto,
  jobIdParam,
  queueParam,
} from './jobs.dto';

const QUEUE_DOWN = 'Redis is unavailable (`Retry-After`)';

function bounded(
  name: string,
  value: string | undefined,
  def: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return def;
  if (!/^\d{1,7}$/.test(value) || Number(value) < min || Number(value) > max)
    throw new BadRequestException(`${name} must be an integer from ${min} to ${max}`);
  return Number(value);
}

/** Dead letters: failed jobs per queue, and retrying one. Admin role only. */
@ApiTags('admin')
@Controller('api/admin/queues')
@Roles('admin')
export class AdminQueuesController {
  constructor(private readonly queues: QueueService) {}

  @Get(':queue/failed')
  @ApiQueueParam()
  @ApiQuery({
    name: 'start',
    required: false,
    schema: { type: 'integer', minimum: 0, maximum: 1_000_000, default: 0 },
  })
  @ApiQuery({
    name: 'count',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
  })
  @ApiStandardResponses({
    summary: 'Failed jobs (dead letters) of a queue, newest first',
    success: {
      status: 200,
      description: 'A page of failed jobs and the total',
      type: FailedJobsDto,
    },
    errors: {
      400: 'queue is not one of the queues, or start/count out of range',
      503: QUEUE_DOWN,
    },
    auth: { roles: ['admin'] },
  })
  failed(
    @Param('queue') queue: string,
    @Query('start') start?: string,
    @Query('count') count?: string,
  ): Promise<{ total: number; jobs: FailedJobView[] }> {
    return this.queues.failed(
      queueParam(queue),
      bounded('start', start, 0, 0, 1_000_000),
      bounded('count', count, 20, 1, 100),
    );
  }

  @Post(':queue/jobs/:id/retry')
  @HttpCode(200)
  @ApiQueueParam()
  @ApiJobIdParam()
  @ApiStandardResponses({
    summary: 'Retry a failed job with fresh attempts',
    success: { status: 200, description: 'The job, back in waiting', type: JobDto },
    errors: {
      400: 'queue is not one of the queues, or id is not a job id',
      404: 'No such job',
      409: 'The job is not failed',
      503: QUEUE_DOWN,
    },
    jsonBody: 'unused',
    auth: { roles: ['admin'] },
  })
  retry(@Param('queue') queue: string, @Param('id') id: string): Promise<JobView> {
    return this.queues.retry(queueParam(queue), jobIdParam(id));
  }
}
