// Shared building blocks of every module: domain errors, method-call keys, the provider-method
// wrapper used by decorators, process identity, a rate-limited logger and `sleep`.
export * from './app-error';
export * from './method-keys';
export * from './method-wrapper';
export * from './process-identity';
export * from './rate-limited-logger';
export * from './sleep';
