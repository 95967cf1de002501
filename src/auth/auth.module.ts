import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { HttpContext } from '../http';
import { AccessTokens } from './access-tokens';
import { AuthenticatedGuard } from './auth.guard';
import {
  AUTH_MODULE_OPTIONS,
  AUTH_OPTIONS,
  AuthConfigurableModule,
  AuthModuleOptions,
  resolveAuthOptions,
} from './auth.module-definition';
import { AuthService } from './auth.service';
import { IdentityMiddleware } from './identity.middleware';
import { TokenStore } from './token.store';

/**
 * Authentication for every route: one identity step (session cookie or Bearer token → `req.user`)
 * before guards and interceptors, `@Authenticated()` / `@Roles()` / `@CurrentUser()`, JWT access
 * tokens with revocation, rotating refresh tokens, throttled password logins. Needs `RedisModule`
 * (role `state`); uses `SessionModule` (sessions) and `RateLimitModule` (login throttling) when
 * they are global. Failure policy: fail closed.
 *
 * @example
 * AuthModule.forRootAsync({ imports: [UsersModule], inject: [UsersService],
 *   useFactory: (users) => ({ directory: users, jwt: { secret, issuer: 'shop', audience: 'shop-api' } }) })
 */
@Module({
  providers: [
    {
      provide: AUTH_OPTIONS,
      useFactory: (o: AuthModuleOptions) => resolveAuthOptions(o),
      inject: [AUTH_MODULE_OPTIONS],
    },
    TokenStore,
    AccessTokens,
    AuthService,
    HttpContext,
    AuthenticatedGuard,
    IdentityMiddleware,
  ],
  exports: [AuthService, AuthenticatedGuard, HttpContext],
})
export class AuthModule extends AuthConfigurableModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(IdentityMiddleware).forRoutes({ path: '*path', method: RequestMethod.ALL });
  }
}
