// The validated environment (composition root and domain modules only; feature modules take
// their own options through forRoot).
export * from './config.schema';
export * from './config.module';
export * from './config.constants';
