/** Metadata key of `@WithLock`. */
export const WITH_LOCK_METADATA = 'lock:with-lock';
/** The interceptor `@WithLock` routes run through (`LockModule.forRoot({ interceptor })`). */
export const LOCK_INTERCEPTOR = 'LOCK:INTERCEPTOR';
