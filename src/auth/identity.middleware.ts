import { Injectable, NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AuthService } from './auth.service';

/**
 * The one identity step: before any guard runs (rate limiting, route guards) and before any
 * interceptor (caching), the request's session cookie or Bearer token sets `req.user`, so the
 * rate limiter keys on the user and `@Cached` keeps users apart. It never refuses a request by
 * itself: routes marked `@Authenticated()` do.
 */
@Injectable()
export class IdentityMiddleware implements NestMiddleware {
  constructor(private readonly auth: AuthService) {}

  async use(req: IncomingMessage, _res: ServerResponse, next: () => void): Promise<void> {
    await this.auth.identify(req);
    next();
  }
}
