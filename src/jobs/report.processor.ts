import { Inject } from '@nestjs/common';
import { Database } from '../database';
import { Job, Processor, QueueService, WorkerHost } from '../queue';
import { JOBS_MODULE_OPTIONS, JobsModuleOptions } from './jobs.module-definition';

export interface ReportJobData {
  userId?: number;
}

export interface ReportResult {
  /** Who asked for it: also tells JobEvents whom to notify (src/queue/job-events.ts). */
  userId?: number;
  date: string;
  users: number;
  posts: number;
  pages: number;
  generatedAt: string;
}

/**
 * The `report` queue: the daily report of src/reports (counts from the database), as a job
 * taking `reportWorkMs`. Idempotent: it only reads. When done, the user who queued it gets a
 * notification (a `notification` job).
 */
@Processor('report')
export class ReportProcessor extends WorkerHost {
  private readonly workMs: number;

  constructor(
    private readonly db: Database,
    private readonly queues: QueueService,
    @Inject(JOBS_MODULE_OPTIONS) options: JobsModuleOptions,
  ) {
    super();
    this.workMs = options.reportWorkMs ?? 1000;
  }

  async process(job: Job<ReportJobData>): Promise<ReportResult> {
    if (this.workMs > 0) await new Promise((r) => setTimeout(r, this.workMs));
    const [row] = await this.db.query<{ users: number; posts: number; pages: number }>(
      `SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM posts) AS posts,
              (SELECT count(*)::int FROM pages) AS pages`,
    );
    const now = new Date();
    const userId = job.data.userId;
    if (userId !== undefined) {
      // A retry of this job after a crash adds it again: the same idempotency key returns the first.
      await this.queues.add(
        'notification',
        'report-ready',
        { message: `Your report ${job.id} is ready` },
        { userId, idempotencyKey: `report:${job.id}` },
      );
    }
    return {
      ...(userId !== undefined ? { userId } : {}),
      date: now.toISOString().slice(0, 10),
      users: row.users,
      posts: row.posts,
      pages: row.pages,
      generatedAt: now.toISOString(),
    };
  }
}
