import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { AuthService } from '../auth';
import { JobEvent, JobEvents } from '../queue';
import { RealtimeService } from '../realtime';
import { SessionService } from '../session';

/**
 * The composition of realtime with the rest of the app (API role), kept out of the modules
 * themselves (none of them imports another's internals):
 * - a job finished → `job.completed` / `job.failed` to the user who queued it. Every API
 *   instance reads BullMQ's events stream itself (JobEvents), so each emits to its own sockets
 *   only: going through the event stream would deliver it once per instance;
 * - sessions ended or credentials revoked → their sockets are disconnected on every instance
 *   (through the event stream).
 */
@Injectable()
export class RealtimeLinks implements OnModuleInit, OnModuleDestroy {
  private readonly off: (() => void)[] = [];

  constructor(
    private readonly realtime: RealtimeService,
    private readonly jobs: JobEvents,
    private readonly sessions: SessionService,
    private readonly auth: AuthService,
  ) {}

  onModuleInit(): void {
    const job = (event: string) => (e: JobEvent) => {
      if (e.userId === undefined) return;
      this.realtime.toUserLocally(e.userId, event, {
        queue: e.queue,
        jobId: e.jobId,
        ...(e.result !== undefined ? { result: e.result } : {}),
        ...(e.reason !== undefined ? { reason: e.reason } : {}),
      });
    };
    this.off.push(
      this.jobs.onCompleted(job('job.completed')),
      this.jobs.onFailed(job('job.failed')),
      this.sessions.onEnded(({ userId, sessionIds }) =>
        this.realtime.disconnect({ userId, sessionIds, reason: 'the session ended' }),
      ),
      this.auth.onRevoked((r) =>
        this.realtime.disconnect({
          ...r,
          reason: r.all ? 'logged out everywhere' : 'the credential was revoked',
        }),
      ),
    );
  }

  onModuleDestroy(): void {
    for (const off of this.off.splice(0)) off();
  }
}
