// Public face of the counters module.
export * from './counters.types';
export * from './counters.module-definition';
export * from './counter.service';
export * from './counters.module';
