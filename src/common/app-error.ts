import { HttpException } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';

/**
 * Errors the application raises on purpose: a stable `code`, a message for the client, the
 * HTTP status they stand for and, where clients key on it, the `error` title. Each module's
 * errors carry their own status (a lock's contention is 409 "Resource is being updated"); the
 * global exception filter only reads it, so infrastructure knows no feature's errors.
 */
export class AppError extends HttpException {
  /** The `error` field of the response body; default: the status's reason phrase. */
  readonly title?: string;
  /** Response headers that go with it (`Retry-After`, `WWW-Authenticate`). */
  readonly headers?: Record<string, string>;

  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    options: { status?: number; title?: string; headers?: Record<string, string> } = {},
  ) {
    const status = options.status ?? DEFAULT_STATUS[code] ?? 500;
    // An HttpException, so Nest's own exception handling answers it too (an app that reuses a
    // module without our filter): the same JSON body either way.
    super(
      {
        statusCode: status,
        error: options.title ?? STATUS_CODES[status] ?? 'Error',
        message,
        ...(details ? { details } : {}),
      },
      status,
    );
    this.message = message;
    this.name = new.target.name;
    this.title = options.title;
    this.headers = options.headers;
  }
}

const DEFAULT_STATUS: Record<string, number> = {
  NOT_FOUND: 404,
  CONFLICT: 409,
  INVALID_REFERENCE: 422,
  BAD_INPUT: 400,
  UNAVAILABLE: 503,
};

export class NotFoundError extends AppError {
  constructor(what: string, id: string | number) {
    super('NOT_FOUND', `${what} ${id} not found`, { id });
  }
}

export class ConflictError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('CONFLICT', message, details);
  }
}

/** A body refers to something that does not exist (`userId` of an unknown user). */
export class InvalidReferenceError extends AppError {
  constructor(field: string, id: string | number) {
    super('INVALID_REFERENCE', `${field} ${id} does not exist`, { field, id });
  }
}

export class UnavailableError extends AppError {
  constructor(message: string) {
    super('UNAVAILABLE', message);
  }
}
