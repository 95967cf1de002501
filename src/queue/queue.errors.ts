import { AppError } from '../common';

/** The queue's Redis cannot take the job now (down, stalled, out of memory): 503, retry later. */
export class QueueUnavailableError extends AppError {
  constructor(detail: string) {
    super(
      'QUEUE_UNAVAILABLE',
      `The job queue is unavailable; retry shortly (${detail})`,
      undefined,
      {
        status: 503,
        headers: { 'Retry-After': '1' },
      },
    );
  }
}

/** No such queue (the name is not one of `QUEUE_NAMES`). */
export class UnknownQueueError extends AppError {
  constructor(name: string) {
    super('NOT_FOUND', `Unknown queue "${name.slice(0, 64)}"`, undefined, { status: 404 });
  }
}

/** No such job in the queue (or not one the caller may see). */
export class JobNotFoundError extends AppError {
  constructor(queue: string, id: string) {
    super('NOT_FOUND', `Job ${id} not found in queue ${queue}`, { queue, id }, { status: 404 });
  }
}

/** The job is not in a state the operation applies to (retrying a job that has not failed). */
export class JobStateConflictError extends AppError {
  constructor(message: string, details: Record<string, unknown>) {
    super('CONFLICT', message, details, { status: 409 });
  }
}
