import { AppError } from '../common';

/**
 * The caller's delivery no longer holds the job's lease: it expired (the consumer stalled past
 * the visibility timeout) and the job was returned to ready, possibly delivered again, or it was
 * completed already. Nothing was changed. At-least-once: another delivery owns the job now.
 */
export class ListJobLeaseLostError extends AppError {
  constructor(readonly jobId: string) {
    super(
      'LIST_JOB_LEASE_LOST',
      `job ${jobId}: this delivery no longer holds its lease (it expired and the job was returned to the queue, or it was finished already)`,
      { jobId },
      { status: 409 },
    );
  }
}

/** `enqueue` with a `jobId` that is already queued. */
export class ListJobExistsError extends AppError {
  constructor(readonly jobId: string) {
    super('CONFLICT', `job ${jobId} is already queued`, { jobId }, { status: 409 });
  }
}

/** No dead-lettered job with this id (`requeueFailed`). */
export class ListJobNotFoundError extends AppError {
  constructor(readonly jobId: string) {
    super('NOT_FOUND', `failed job ${jobId} not found`, { jobId }, { status: 404 });
  }
}

/** An unknown job type, a bad id or an option out of range. */
export class ListQueueInputError extends AppError {
  constructor(message: string) {
    super('BAD_INPUT', message, undefined, { status: 400 });
  }
}
