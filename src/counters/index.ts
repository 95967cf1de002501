export * from './counters.types';
export * from './counter.service';
export * from './counters.module';
