import { Job, Processor, UnrecoverableError, WorkerHost } from '../queue';
import { NotificationsService } from './notifications.service';

export interface NotificationJobData {
  userId?: number;
  message: string;
}

/**
 * The `notification` queue: stores a notification for the user (read with
 * `GET /api/notifications`). Its id is the job's, so a retried job is stored once per attempt
 * at most: a reader may dedupe on `id`.
 */
@Processor('notification')
export class NotificationProcessor extends WorkerHost {
  constructor(private readonly notifications: NotificationsService) {
    super();
  }

  async process(job: Job<NotificationJobData>): Promise<{ userId: number; stored: true }> {
    const { userId, message } = job.data;
    if (typeof userId !== 'number' || typeof message !== 'string')
      throw new UnrecoverableError('a notification needs a userId and a message');
    await this.notifications.add(userId, {
      id: `${job.id}`,
      message,
      createdAt: new Date(job.timestamp).toISOString(),
    });
    return { userId, stored: true };
  }
}
