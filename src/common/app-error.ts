/**
 * Domain errors: plain classes with a stable `code`. They carry no HTTP knowledge; the global
 * exception filter (src/http/all-exceptions.filter.ts) maps each code to a status at the edge.
 */
export type AppErrorCode =
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'INVALID_REFERENCE'
  | 'BAD_INPUT'
  | 'UNAVAILABLE'
  | 'LOCKED'
  | 'LOCK_LOST';

export class AppError extends Error {
  constructor(
    readonly code: AppErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

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
