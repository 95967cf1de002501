import { BadRequestException } from '@nestjs/common';
import { ApiParam, ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { QUEUE_NAMES, QueueName } from '../queue';
import { isQueueName } from '../queue';

export const JOB_ID = /^[1-9][0-9]{0,15}$/;
/** Idempotency-Key: 1-200 printable ASCII characters. */
export const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,200}$/;

export function queueParam(name: string): QueueName {
  if (!isQueueName(name))
    throw new BadRequestException(`queue must be one of ${QUEUE_NAMES.join(', ')}`);
  return name;
}

export function jobIdParam(id: string): string {
  if (!JOB_ID.test(id))
    throw new BadRequestException('id must be a job id: a positive integer of at most 16 digits');
  return id;
}

export function idempotencyKeyHeader(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !IDEMPOTENCY_KEY.test(value))
    throw new BadRequestException(
      'Idempotency-Key must be 1-200 printable ASCII characters (space to ~), sent once',
    );
  return value;
}

export const ApiQueueParam = (): MethodDecorator =>
  ApiParam({
    name: 'queue',
    description: 'queue name',
    schema: { type: 'string', enum: [...QUEUE_NAMES], example: 'report' },
  });

export const ApiJobIdParam = (): MethodDecorator =>
  ApiParam({
    name: 'id',
    description: 'job id (BullMQ numeric id)',
    schema: { type: 'string', pattern: JOB_ID.source, example: '1' },
  });

export class JobAcceptedDto {
  @ApiProperty({
    example: '42',
    pattern: JOB_ID.source,
    description: 'the job id; with a repeated Idempotency-Key, the first job’s',
  })
  jobId: string;
}

export class JobDto {
  @ApiProperty({ example: '42', pattern: JOB_ID.source }) id: string;
  @ApiProperty({ enum: QUEUE_NAMES, example: 'report' }) queue: string;
  @ApiProperty({ example: 'daily', description: 'the job name' }) name: string;
  @ApiProperty({
    example: 'completed',
    description:
      'BullMQ state: waiting, delayed, prioritized, active, completed, failed, waiting-children or unknown',
  })
  state: string;
  @ApiPropertyOptional({ type: 'integer', minimum: 1, description: 'who queued it' })
  userId?: number;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'attempts made so far' })
  attempts: number;
  @ApiPropertyOptional({ description: 'the processor’s return value (completed)' })
  result?: unknown;
  @ApiPropertyOptional({ description: 'why the last attempt failed' }) failedReason?: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiPropertyOptional({ format: 'date-time' }) finishedAt?: string;
}

export class FailedJobDto extends JobDto {
  @ApiProperty({ type: 'integer', minimum: 0 }) attemptsMade: number;
  @ApiProperty({ type: [String], description: 'the first lines of the last failure’s stack trace' })
  stacktrace: string[];
}

export class FailedJobsDto {
  @ApiProperty({ type: 'integer', minimum: 0, description: 'failed jobs in the queue' })
  total: number;
  @ApiProperty({ type: [FailedJobDto] }) jobs: FailedJobDto[];
}

export class NotificationDto {
  @ApiProperty({ example: '7' }) id: string;
  @ApiProperty({ example: 'Your report 42 is ready' }) message: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}
