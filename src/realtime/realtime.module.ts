import { DynamicModule, Module, Provider } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ApplicationConfig } from '@nestjs/core/application-config';
import { EventStreamReader } from './event-stream.reader';
import { REALTIME_IO_ADAPTER } from './realtime.constants';
import { RealtimeGateway } from './realtime.gateway';
import { RealtimeIoAdapter, StreamsAdapterConnections } from './realtime.io-adapter';
import {
  REALTIME_ASYNC_OPTIONS_TYPE,
  REALTIME_OPTIONS_TYPE,
  RealtimeConfigurableModule,
} from './realtime.module-definition';
import { RealtimeService } from './realtime.service';

/**
 * Registers the app's socket.io adapter with Nest (what `app.useWebSocketAdapter()` does), so
 * every app that imports the module with `gateway: true` gets it, tests included.
 */
const ioAdapterProvider: Provider = {
  provide: REALTIME_IO_ADAPTER,
  inject: [ApplicationConfig, HttpAdapterHost, RealtimeService, StreamsAdapterConnections],
  useFactory: (
    config: ApplicationConfig,
    host: HttpAdapterHost,
    realtime: RealtimeService,
    connections: StreamsAdapterConnections,
  ) => {
    const adapter = new RealtimeIoAdapter(host, realtime, connections);
    config.setIoAdapter(adapter);
    return adapter;
  },
};

const GATEWAY_PROVIDERS: Provider[] = [
  RealtimeGateway,
  EventStreamReader,
  StreamsAdapterConnections,
  ioAdapterProvider,
];

function withGateway(module: DynamicModule, gateway: boolean | undefined): DynamicModule {
  if (!gateway) return module;
  return { ...module, providers: [...(module.providers ?? []), ...GATEWAY_PROVIDERS] };
}

/**
 * Realtime delivery to users' sockets across instances (needs RedisModule; metrics with
 * MetricsModule). Every process gets {@link RealtimeService} (`toUser` appends to the event
 * stream); with `gateway: true` (API processes) the socket.io gateway on the HTTP server's port,
 * its handshake authentication, the event-stream reader and the Redis streams adapter.
 *
 * @example
 * // API process
 * RealtimeModule.forRootAsync({
 *   inject: [AuthService],
 *   useFactory: (auth: AuthService) => ({ prefix: 'shop', authenticate: (c) => identify(auth, c) }),
 *   gateway: true,
 *   isGlobal: true,
 * })
 * // worker process: emits only
 * RealtimeModule.forRoot({ prefix: 'shop', isGlobal: true })
 */
@Module({ providers: [RealtimeService], exports: [RealtimeService] })
export class RealtimeModule extends RealtimeConfigurableModule {
  static override forRoot(options: typeof REALTIME_OPTIONS_TYPE): DynamicModule {
    return withGateway(super.forRoot(options), options.gateway);
  }

  static override forRootAsync(options: typeof REALTIME_ASYNC_OPTIONS_TYPE): DynamicModule {
    return withGateway(super.forRootAsync(options), options.gateway);
  }
}
