import {
  applyDecorators,
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  Injectable,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { HttpContext } from '../http';
import { AuthUnavailableError, ForbiddenRoleError, UnauthenticatedError } from './auth.errors';
import { AuthOutcome, AuthService } from './auth.service';
import type { Identity } from './auth.types';

export const ROLES_METADATA = 'auth:roles';

/** RFC 6750 §3: `error_description` allows %x20-21 / %x23-5B / %x5D-7E only (no `"` or `\`). */
function challengeText(text = ''): string {
  return text.replace(/[^ !#-[\]-~]/g, '');
}

/**
 * Lets a request through only when the identity step found a user (and, with `@Roles`, one with
 * a required role). Missing or bad credentials → 401 (`WWW-Authenticate: Bearer …`, with
 * `error="invalid_token"` when a token was sent; a malformed Authorization header → 400
 * `invalid_request`); a missing role → 403; Redis unavailable → 503 (fail closed).
 */
@Injectable()
export class AuthenticatedGuard implements CanActivate {
  constructor(
    private readonly auth: AuthService,
    private readonly reflector: Reflector,
    private readonly http: HttpContext,
  ) {}

  /**
   * `@Roles` of a handler (method metadata over class metadata), read once per handler and
   * class: decorators set metadata when classes are defined, not per request.
   */
  private readonly rolesCache = new WeakMap<object, WeakMap<object, readonly string[]>>();

  canActivate(ctx: ExecutionContext): boolean | Promise<boolean> {
    const request = this.http.request(ctx);
    // The identity middleware has run on every route: its outcome is on the request already.
    const known = this.auth.identified(request);
    if (known !== undefined) return this.decide(ctx, known);
    return this.auth.identify(request).then((outcome) => this.decide(ctx, outcome));
  }

  private decide(ctx: ExecutionContext, outcome: AuthOutcome): boolean {
    if (!outcome.user) {
      if (outcome.problem === 'unavailable') throw new AuthUnavailableError(outcome.detail ?? '');
      const bearer = outcome.problem === 'invalid_token' || outcome.problem === 'invalid_request';
      this.http.setHeader(
        ctx,
        'WWW-Authenticate',
        bearer
          ? `Bearer realm="api", error="${outcome.problem}", error_description="${challengeText(outcome.detail)}"`
          : 'Bearer realm="api"',
      );
      throw new UnauthenticatedError(
        bearer ? (outcome.detail ?? 'Invalid credentials') : undefined,
        bearer ? outcome.problem : undefined,
      );
    }
    const roles = this.rolesOf(ctx);
    if (roles.length > 0 && !roles.some((r) => outcome.user.roles.includes(r))) {
      if (outcome.user.via === 'token')
        this.http.setHeader(
          ctx,
          'WWW-Authenticate',
          'Bearer realm="api", error="insufficient_scope"',
        );
      throw new ForbiddenRoleError([...roles]);
    }
    return true;
  }

  private rolesOf(ctx: ExecutionContext): readonly string[] {
    const handler = ctx.getHandler();
    const cls = ctx.getClass();
    let byClass = this.rolesCache.get(handler);
    if (byClass === undefined) {
      byClass = new WeakMap();
      this.rolesCache.set(handler, byClass);
    }
    let roles = byClass.get(cls);
    if (roles === undefined) {
      roles =
        this.reflector.getAllAndOverride<string[] | undefined>(ROLES_METADATA, [handler, cls]) ??
        [];
      byClass.set(cls, roles);
    }
    return roles;
  }
}

/**
 * The route (or every route of a controller) needs a logged-in user: a session cookie or a
 * Bearer access token.
 *
 * @example
 * @Get('me') @Authenticated() me(@CurrentUser() user: Identity) { … }
 */
export const Authenticated = (): MethodDecorator & ClassDecorator =>
  applyDecorators(UseGuards(AuthenticatedGuard));

/**
 * The route needs a user with one of these roles (implies `@Authenticated()`).
 *
 * @example
 * @Get('admin/stats') @Roles('admin') stats() { … }
 */
export const Roles = (...roles: string[]): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(ROLES_METADATA, roles), UseGuards(AuthenticatedGuard));

/** The authenticated user of the request (`Identity`), or undefined on a public route. */
export const CurrentUser = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): Identity | undefined =>
    (HttpContext.raw(ctx.switchToHttp().getRequest()) as { user?: Identity }).user,
);
