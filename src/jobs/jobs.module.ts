import { DynamicModule, Module, Type } from '@nestjs/common';
import { AdminQueuesController } from './admin-queues.controller';
import { JobsController } from './jobs.controller';
import { JobsConfigurableModule, JobsModuleOptions } from './jobs.module-definition';
import { NotificationProcessor } from './notification.processor';
import { NotificationsService } from './notifications.service';
import { QueueDashboard } from './queue-dashboard';
import { ReportProcessor } from './report.processor';

/** `@Processor()` providers: present in every role; workers run them only where QueueModule has `processors: true`. */
export const JOB_PROCESSORS: Type[] = [ReportProcessor, NotificationProcessor];

/** The jobs domain's HTTP endpoints (API role only: `controllers: true`). */
export const JOB_CONTROLLERS: Type[] = [JobsController, AdminQueuesController];

/**
 * The jobs domain on QueueModule's face: processors of the report and notification queues
 * (in every role, dormant where QueueModule has no `processors`), and with `controllers: true`
 * (API role) the endpoints: POST /api/reports, GET /api/jobs/:queue/:id, GET /api/notifications,
 * the admin dead-letter endpoints.
 *
 * @example
 * imports: [JobsModule.forRoot({ reportWorkMs: 1000, controllers: role !== 'worker' })]
 */
@Module({
  providers: [NotificationsService, ...JOB_PROCESSORS],
  exports: [NotificationsService],
})
export class JobsModule extends JobsConfigurableModule {
  static override forRoot(options: JobsModuleOptions & { controllers?: boolean }): DynamicModule {
    const { controllers, ...rest } = options;
    const base = super.forRoot(rest);
    if (!controllers) return base;
    return {
      ...base,
      controllers: JOB_CONTROLLERS,
      // bull-board at /admin/queues, on the HTTP platform's own instance (API role only).
      providers: [...(base.providers ?? []), QueueDashboard],
    };
  }
}
