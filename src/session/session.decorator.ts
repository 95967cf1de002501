import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { HttpContext } from '../http';
import { RESOLVED_SESSION } from './session.middleware';
import type { SessionRecord } from './session.store';

/**
 * The request's session (`SessionRecord`) or `null`, in a controller parameter.
 *
 * @example
 * @Get('cart') cart(@Session() session: SessionRecord | null) { return session?.data.cart ?? []; }
 */
export const Session = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): SessionRecord | null => {
    const raw = HttpContext.raw(ctx.switchToHttp().getRequest()) as {
      [RESOLVED_SESSION]?: SessionRecord | null;
    };
    return raw[RESOLVED_SESSION] ?? null;
  },
);
