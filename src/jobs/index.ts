// Public face of the jobs domain.
export * from './jobs.module-definition';
export * from './jobs.module';
export { NotificationsService, type Notification } from './notifications.service';
export type { ReportJobData, ReportResult } from './report.processor';
