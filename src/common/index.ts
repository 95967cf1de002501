// Shared building blocks of every module: domain errors, method-call keys, the provider-method
// wrapper used by decorators, and process identity.
export * from './app-error';
export * from './method-keys';
export * from './method-wrapper';
export * from './process-identity';
