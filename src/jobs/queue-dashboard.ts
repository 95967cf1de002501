import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { ExpressAdapter } from '@bull-board/express';
import type { FastifyAdapter } from '@bull-board/fastify';
import type { IncomingMessage } from 'node:http';
import { AppError } from '../common';
import { AuthService, ForbiddenRoleError, UnauthenticatedError } from '../auth';
import { QUEUE_NAMES, QueueService } from '../queue';

/** Where the bull-board dashboard is served. */
export const DASHBOARD_PATH = '/admin/queues';
const ADMIN_ROLE = 'admin';

interface Refusal {
  status: number;
  body: object;
  headers: Record<string, string>;
}

/**
 * bull-board at `/admin/queues` on both HTTP platforms, admin role only. It is mounted on the
 * underlying Fastify or Express instance (outside Nest's router, so no Nest guard runs): every
 * request is checked here with AuthService (session cookie or Bearer token), and refused with
 * the API's JSON error body: 401 anonymous, 403 without the admin role, 503 when credentials
 * cannot be checked.
 */
@Injectable()
export class QueueDashboard implements OnModuleInit {
  private readonly logger = new Logger('Queue');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly queues: QueueService,
    private readonly auth: AuthService,
  ) {}

  onModuleInit(): void {
    const http = this.adapterHost.httpAdapter;
    if (!http) return; // an application context without HTTP
    const boardQueues = QUEUE_NAMES.map((n) => new BullMQAdapter(this.queues.queue(n)));
    // Each platform's bull-board adapter is loaded only on that platform: @bull-board/express
    // brings Express 5 into a Fastify process otherwise.
    /* eslint-disable @typescript-eslint/no-require-imports */
    if (http.getType() === 'fastify') {
      const { FastifyAdapter: BoardAdapter } = require('@bull-board/fastify') as {
        FastifyAdapter: typeof FastifyAdapter;
      };
      const server = new BoardAdapter();
      server.setBasePath(DASHBOARD_PATH);
      createBullBoard({ queues: boardQueues, serverAdapter: server });
      const fastify = http.getInstance<{
        register: (plugin: unknown, opts?: object) => unknown;
      }>();
      fastify.register(
        (
          scope: {
            addHook: (name: string, hook: unknown) => void;
            register: (p: unknown) => unknown;
          },
          _opts: unknown,
          done: () => void,
        ) => {
          scope.addHook(
            'onRequest',
            async (
              req: { raw: IncomingMessage },
              reply: {
                code: (s: number) => typeof reply;
                headers: (h: Record<string, string>) => typeof reply;
                send: (b: unknown) => unknown;
              },
            ) => {
              const refusal = await this.refusal(req.raw);
              if (refusal)
                return reply
                  .code(refusal.status)
                  .headers({
                    'content-type': 'application/json; charset=utf-8',
                    ...refusal.headers,
                  })
                  .send(JSON.stringify(refusal.body));
            },
          );
          scope.register(server.registerPlugin());
          done();
        },
        { prefix: DASHBOARD_PATH },
      );
    } else {
      const { ExpressAdapter: BoardAdapter } = require('@bull-board/express') as {
        ExpressAdapter: typeof ExpressAdapter;
      };
      const server = new BoardAdapter();
      server.setBasePath(DASHBOARD_PATH);
      createBullBoard({ queues: boardQueues, serverAdapter: server });
      const app = http.getInstance<{ use: (path: string, ...handlers: unknown[]) => void }>();
      app.use(
        DASHBOARD_PATH,
        (
          req: IncomingMessage,
          res: {
            status: (s: number) => typeof res;
            set: (h: Record<string, string>) => typeof res;
            json: (b: unknown) => void;
          },
          next: (err?: unknown) => void,
        ) => {
          this.refusal(req).then((refusal) => {
            if (!refusal) return next();
            res.status(refusal.status).set(refusal.headers).json(refusal.body);
          }, next);
        },
        server.getRouter(),
      );
    }
    /* eslint-enable @typescript-eslint/no-require-imports */
    this.logger.log(`bull-board dashboard at ${DASHBOARD_PATH} (admin role)`);
  }

  /** Why a request may not see the dashboard, or undefined when it may. */
  private async refusal(req: IncomingMessage): Promise<Refusal | undefined> {
    const outcome = await this.auth.identify(req);
    let error: AppError;
    const headers: Record<string, string> = {};
    if (outcome.user) {
      if (outcome.user.roles.includes(ADMIN_ROLE)) return undefined;
      error = new ForbiddenRoleError([ADMIN_ROLE]);
    } else if (outcome.problem === 'unavailable') {
      error = new AppError(
        'UNAVAILABLE',
        'credentials cannot be checked now; retry shortly',
        undefined,
        {
          status: 503,
        },
      );
    } else {
      headers['www-authenticate'] = 'Bearer realm="api"';
      error = new UnauthenticatedError(outcome.detail);
      if (error.getStatus() === 400) error = new UnauthenticatedError();
    }
    return { status: error.getStatus(), body: error.getResponse() as object, headers };
  }
}
