// Public face of the realtime module.
export * from './realtime.module-definition';
export * from './realtime.module';
export { RealtimeService } from './realtime.service';
export type { DisconnectTarget } from './realtime.events';
export { userRoom, EXCEPTION_EVENT, REVOKED_EVENT, CLIENT_EVENTS } from './realtime.constants';
