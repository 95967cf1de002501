import { ConfigurableModuleBuilder } from '@nestjs/common';

/**
 * Options of {@link OpsModule}: what the app tells operators about its Redis servers (server
 * state at scrape, start-up checks) and the admin diagnostics endpoints.
 *
 * @example
 * OpsModule.forRoot({ adminEndpoints: true })
 */
export interface OpsModuleOptions {
  /** Serve the admin diagnostics (`/api/admin/redis/*`, admin role). Default true. */
  adminEndpoints?: boolean;
  /** Redis server state at scrape (`redis_up`, `redis_memory_used_bytes`, …). Default true. */
  serverMetrics?: boolean;
  /** How long a scrape waits for each server's INFO before reporting it down (`redis_up 0`). Default 500. */
  serverMetricsTimeoutMs?: number;
  /** Log the Redis configuration checks once at start-up. Default true. */
  startupChecks?: boolean;
}

export const {
  ConfigurableModuleClass: OpsConfigurableModule,
  MODULE_OPTIONS_TOKEN: OPS_MODULE_OPTIONS,
} = new ConfigurableModuleBuilder<OpsModuleOptions>({ moduleName: 'Ops' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
