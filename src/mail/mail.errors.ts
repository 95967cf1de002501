import { AppError } from '../common';

/**
 * The SMTP server refused the message for good (a 5xx reply to the sender, a recipient or the
 * data: an unknown mailbox, a refused domain). Retrying cannot help: a queue job should
 * dead-letter at once (the email processor turns it into BullMQ's `UnrecoverableError`).
 */
export class MailRejectedError extends AppError {
  readonly permanent = true;

  constructor(message: string, details: { responseCode?: number; command?: string }) {
    super('MAIL_REJECTED', message, details, { status: 422 });
  }
}

/**
 * The message could not be sent now (server unreachable, connection dropped, a 4xx reply,
 * a timeout, Redis unavailable for the claim): a queue job fails this attempt and retries.
 */
export class MailUnavailableError extends AppError {
  readonly permanent = false;

  constructor(message: string, details?: Record<string, unknown>) {
    super('MAIL_UNAVAILABLE', message, details, { status: 503 });
  }
}
