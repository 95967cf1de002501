import { Injectable, NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SessionRecord } from './session.store';
import { SessionService } from './session.service';

/** The resolved session of a request, for `@Session()` (set by {@link SessionMiddleware}). */
export const RESOLVED_SESSION = Symbol('session:resolved');

/**
 * Loads the request's session before guards and handlers run (one Redis command when a session
 * cookie is present, none otherwise). A Redis failure leaves the request without a session;
 * routes that require one answer 503 through the auth guard (fail closed).
 */
@Injectable()
export class SessionMiddleware implements NestMiddleware {
  constructor(private readonly sessions: SessionService) {}

  async use(
    req: IncomingMessage & { [RESOLVED_SESSION]?: SessionRecord | null },
    _res: ServerResponse,
    next: () => void,
  ): Promise<void> {
    req[RESOLVED_SESSION] = await this.sessions.current(req).catch(() => null);
    next();
  }
}
