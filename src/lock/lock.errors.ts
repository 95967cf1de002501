import { AppError } from '../common';

/** Someone else holds the lock (after the configured wait, if any). Maps to 409. */
export class LockNotAcquiredError extends AppError {
  constructor(readonly resource: string) {
    super(
      'LOCKED',
      `${resource} is locked by another operation; retry shortly`,
      { resource },
      {
        status: 409,
        title: 'Resource is being updated',
      },
    );
  }
}

/** The lease ended while the holder was still working (expired, or taken over). Maps to 503. */
export class LockLostError extends AppError {
  constructor(
    readonly resource: string,
    reason: string,
  ) {
    super(
      'LOCK_LOST',
      `the lock on ${resource} was lost (${reason}); the operation was stopped`,
      { resource },
      { status: 503, title: 'Lock lost' },
    );
  }
}

/** Redis cannot be reached: locks fail closed. Maps to 503. */
export class LockUnavailableError extends AppError {
  constructor(
    readonly resource: string,
    cause: string,
  ) {
    super(
      'UNAVAILABLE',
      `cannot lock ${resource}: Redis is unavailable (${cause}); nothing was changed`,
      { resource },
      { status: 503 },
    );
  }
}
