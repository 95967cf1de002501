import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_CONFIG } from './config.constants';
import { AppConfig } from './config.schema';

/**
 * Provides the validated {@link AppConfig} everywhere. The config is loaded by the process entry
 * point (so an invalid environment stops the process before Nest starts) and handed in here.
 *
 * @example
 * constructor(@InjectConfig() private readonly config: AppConfig) {}
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: APP_CONFIG, useValue: config }],
      exports: [APP_CONFIG],
    };
  }
}
