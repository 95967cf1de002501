import { MailRejectedError, MailService } from '../mail';
import { Job, Processor, UnrecoverableError, WorkerHost } from '../queue';

export interface EmailJobData {
  email: string;
  subject: string;
  /** Who queued it (set by QueueService.add). */
  userId?: number;
}

export interface EmailResult {
  /** Who queued it: also tells JobEvents whom to notify. */
  userId?: number;
  messageId: string;
  /** True when a retry found the message already sent (nothing was sent again). */
  duplicate: boolean;
}

/**
 * The send key of an email job: its id plus its creation time, the same on every attempt and
 * retry of the job (an admin retry included). The creation time keeps keys unique should job ids
 * restart (a queue obliterated while the 7-day sent markers remain).
 */
export function emailSendKey(job: Pick<Job, 'id' | 'timestamp'>): string {
  return `email.${job.id}.${job.timestamp}`;
}

/**
 * The `email` queue: sends the message through MailService exactly once per job (SMTP, or the
 * development outbox). A permanent refusal (5xx: an unknown mailbox) dead-letters the job at once
 * (`UnrecoverableError`); anything else (server unreachable, connection dropped, 4xx, Redis) fails
 * the attempt and BullMQ retries it with backoff.
 */
@Processor('email')
export class EmailProcessor extends WorkerHost {
  constructor(private readonly mail: MailService) {
    super();
  }

  async process(job: Job<EmailJobData>): Promise<EmailResult> {
    const { email, subject, userId } = job.data ?? ({} as EmailJobData);
    if (typeof email !== 'string' || typeof subject !== 'string')
      throw new UnrecoverableError('email job data needs an email and a subject');
    try {
      const { messageId, duplicate } = await this.mail.send(
        { to: email, subject, text: `${subject}\n\n(sent by job ${job.id})` },
        { key: emailSendKey(job) },
      );
      return { ...(userId !== undefined ? { userId } : {}), messageId, duplicate };
    } catch (e) {
      if (e instanceof MailRejectedError) throw new UnrecoverableError(e.message);
      throw e;
    }
  }
}
