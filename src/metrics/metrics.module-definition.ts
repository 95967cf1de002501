import { ConfigurableModuleBuilder } from '@nestjs/common';

/**
 * Options of {@link MetricsModule}.
 *
 * @example
 * MetricsModule.forRoot({ defaultMetrics: true, redisCommands: true })
 */
export interface MetricsModuleOptions {
  /** Node process metrics (CPU, memory, event loop lag, GC) from prom-client. Default true. */
  defaultMetrics?: boolean;
  /**
   * Serve `/metrics` on a listener of its own on this port (0: a free one) instead of the
   * app's: the app's port then has no `/metrics`. Default: on the app's port.
   */
  port?: number;
  /** Address of that listener. Default `127.0.0.1`. */
  host?: string;
  /**
   * `http_request_duration_seconds{method,route,status_code}` on every request (a `request`
   * listener on the Node server, {@link HttpRequestMetrics}). Default true.
   */
  httpRequests?: boolean;
  /**
   * Redis command metrics (`redis_command_duration_seconds`, `redis_command_errors_total`) from
   * ioredis's tracing channel. Default true.
   */
  redisCommands?: boolean;
  /**
   * Each request's Redis cost (`redis: { commands, ms }` on the request log line, see
   * `redisCostOf`), counted from the same traced commands (so only with `redisCommands`). Default
   * false: it keeps an AsyncLocalStorage store per request, and on Node 20 an active store makes
   * every promise of the process run promise hooks, which costs far more than the metrics
   * themselves (README › Redis command metrics overhead).
   */
  redisRequestCost?: boolean;
}

export const {
  ConfigurableModuleClass: MetricsConfigurableModule,
  MODULE_OPTIONS_TOKEN: METRICS_MODULE_OPTIONS,
} = new ConfigurableModuleBuilder<MetricsModuleOptions>({ moduleName: 'Metrics' })
  .setClassMethodName('forRoot')
  .build();
