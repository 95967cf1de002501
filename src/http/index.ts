// The HTTP seam: platform setup, error contract, body decoding, validators and OpenAPI helpers
// shared by every controller.
export * from './api-docs';
export * from './error.dto';
export * from './http-context';
export * from './http-platform';
export * from './http.module';
export * from './log-redaction';
export * from './parse-id.pipe';
export * from './request-id';
export * from './validators';
export { AllExceptionsFilter } from './all-exceptions.filter';
