import { ConfigurableModuleBuilder } from '@nestjs/common';

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
  .setExtras({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
