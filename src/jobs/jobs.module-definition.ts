import { ConfigurableModuleBuilder } from '@nestjs/common';

/**
 * Options of {@link JobsModule}. Times in ms.
 *
 * @example
 * JobsModule.forRoot({ reportWorkMs: 1000, controllers: role !== 'worker' })
 */
export interface JobsModuleOptions {
  /** Simulated work of a report job. Default 1000; 0 allowed. */
  reportWorkMs?: number;
  /** Notifications kept per user (newest first). Default 100. */
  notificationsPerUser?: number;
}

export const {
  ConfigurableModuleClass: JobsConfigurableModule,
  MODULE_OPTIONS_TOKEN: JOBS_MODULE_OPTIONS,
} = new ConfigurableModuleBuilder<JobsModuleOptions>({ moduleName: 'Jobs' })
  .setClassMethodName('forRoot')
  .build();
