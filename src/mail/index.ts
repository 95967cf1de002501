// Public face of the mail module.
export * from './mail.errors';
export * from './mail.module-definition';
export * from './mail.module';
export * from './mail.service';
export { OUTBOX_DEFAULT_LIMIT, OUTBOX_MAX_LIMIT } from './mail-outbox.controller';
