// Public face of the session module.
export * from './session.module-definition';
export * from './session.module';
export * from './session.service';
export * from './session.store';
export * from './session.decorator';
export { readCookie } from './session-cookie';
