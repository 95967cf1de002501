import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import type { AppConfig, AppRole } from './config';
import { APP_OPTIONS, configureApp, createHttpAdapter } from './http';

/** Builds the configured (not yet listening) app of a role on the configured HTTP platform. */
export async function createApp(
  config: AppConfig,
  role: AppRole = config.appRole,
): Promise<INestApplication> {
  const app = await NestFactory.create(
    AppModule.forRoot(config, role),
    createHttpAdapter(config),
    APP_OPTIONS,
  );
  await configureApp(app, config);
  return app;
}
