import { ConfigurableModuleBuilder, Type } from '@nestjs/common';
import { LOCK_INTERCEPTOR } from './lock.constants';
import type { LockInterceptor } from './lock.interceptor';

/**
 * Options of {@link LockModule}. Times in ms.
 *
 * @example
 * LockModule.forRoot({ defaultTtlMs: 10_000, isGlobal: true })
 */
export interface LockModuleOptions {
  /** Lease of an acquisition that gives no `ttl` (renewed while held). Default 10 s. */
  defaultTtlMs?: number;
}

export const {
  ConfigurableModuleClass: LockConfigurableModule,
  MODULE_OPTIONS_TOKEN: LOCK_MODULE_OPTIONS,
} = new ConfigurableModuleBuilder<LockModuleOptions>({ moduleName: 'Lock' })
  .setClassMethodName('forRoot')
  .setExtras(
    { isGlobal: false, interceptor: undefined as Type<LockInterceptor> | undefined },
    (definition, extras) => ({
      ...definition,
      global: extras.isGlobal,
      // `@WithLock` routes run through this one (a later provider of a token wins): a subclass
      // of LockInterceptor can change how a call names its resource.
      providers: [
        ...(definition.providers ?? []),
        ...(extras.interceptor
          ? [{ provide: LOCK_INTERCEPTOR, useClass: extras.interceptor }]
          : []),
      ],
    }),
  )
  .build();
