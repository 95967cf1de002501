import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { HttpContext } from '../http';
import { SessionMiddleware } from './session.middleware';
import {
  resolveSessionOptions,
  SESSION_MODULE_OPTIONS,
  SESSION_OPTIONS,
  SessionConfigurableModule,
  SessionModuleOptions,
} from './session.module-definition';
import { SessionService } from './session.service';
import { SessionStore } from './session.store';

/**
 * Redis sessions (`SessionService`, `@Session()`) on the `state` role, on both HTTP platforms,
 * with a store of our own on ioredis (connect-redis accepts node-redis only). Needs
 * `RedisModule`. See SessionService for the guarantees.
 *
 * @example
 * imports: [SessionModule.forRoot({ secrets: [secret], secure: true, isGlobal: true })]
 */
@Module({
  providers: [
    {
      provide: SESSION_OPTIONS,
      useFactory: (o: SessionModuleOptions) => resolveSessionOptions(o),
      inject: [SESSION_MODULE_OPTIONS],
    },
    SessionStore,
    SessionService,
    HttpContext,
    SessionMiddleware,
  ],
  exports: [SessionService, SessionStore],
})
export class SessionModule extends SessionConfigurableModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(SessionMiddleware).forRoutes({ path: '*path', method: RequestMethod.ALL });
  }
}
