// Public face of the notifications domain.
export * from './notifications.module';
export type { NotificationEvent } from './notify.controller';
