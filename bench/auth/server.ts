/**
 * The server under test of the auth benchmark, run as a child process of `run.ts` (one per
 * variant, platform and round) so the load generator does not share its event loop. It reports
 * its port to the parent over IPC and closes on SIGTERM or when the parent goes away.
 *
 * Every stack has RedisModule, MetricsModule and HttpModule (no rate limiting: it would add
 * commands) and the same handler, {@link item}, on these routes (BENCH_STACK):
 * - `ours`: SessionModule + AuthModule (an in-memory UserDirectory) as the app composes them.
 *   GET /public (no guard; the identity middleware still runs), GET /private (`@Authenticated()`:
 *   a Bearer token or the session cookie).
 * - `seed`: the seed's approach, no Session/Auth modules: GET /seed behind a guard doing
 *   `GET blacklist:<raw token>` on the state client, then `JwtService.verifyAsync` (@nestjs/jwt);
 *   GET /public with no guard.
 * - `connect-redis` (Express only): express-session 1.19 with connect-redis 10 on a node-redis
 *   client (`resave: false, saveUninitialized: false`); GET /es needs `req.session.userId`;
 *   GET /public with no guard.
 * - GET /bench/verify-cost (ours, seed): µs per call of the stack's JWT verification of the
 *   request's token, 1,000 sequential calls in this process (after the timed run).
 * - POST /bench/credentials: logs user 1 in the stack's own way and answers `{ bearer? }`, with
 *   `Set-Cookie` for the session stacks. GET /bench/stats: this process's CPU ms.
 *
 * Environment (set by run.ts): REDIS_URL (a private redis-server), HTTP_PLATFORM, BENCH_STACK.
 */
import 'reflect-metadata';
import {
  CanActivate,
  Controller,
  ExecutionContext,
  Get,
  HttpCode,
  INestApplication,
  Injectable,
  Module,
  Post,
  Req,
  Res,
  Type,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { JwtModule, JwtService } from '@nestjs/jwt';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { RedisStore } from 'connect-redis';
import session from 'express-session';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { createClient } from 'redis';
import { authOptions, redisOptions, sessionOptions } from '../../src/app.options';
import {
  AccessTokens,
  Authenticated,
  AuthModule,
  AuthService,
  AuthUser,
  resolveAuthOptions,
  UserDirectory,
} from '../../src/auth';
import type { AppConfig } from '../../src/config';
import { createHttpAdapter, expressRequestId, HttpContext, HttpModule } from '../../src/http';
import { MetricsModule } from '../../src/metrics';
import { InjectRedis, RedisClient, RedisModule } from '../../src/redis';
import { SessionModule, SessionService } from '../../src/session';
import { benchConfig, privateRedisUrl, runServer, serveUntilStopped } from '../lib/server';

export type Stack = 'ours' | 'seed' | 'connect-redis';

export interface BenchItem {
  id: string;
  name: string;
  tags: string[];
  updatedAt: string;
}

const FIXED_DATE = new Date('2025-01-01T00:00:00.000Z').toISOString();

/** The one handler body every route returns. */
const item = (): BenchItem => ({
  id: '1',
  name: 'item 1',
  tags: ['a', 'b'],
  updatedAt: FIXED_DATE,
});

const USER: AuthUser = { id: 1, email: 'bench@example.com', roles: ['user'] };
const PASSWORD = 'bench-password';

/** The tiny user directory of the benchmark: one user, in memory (no database). */
const directory: UserDirectory = {
  verifyCredentials: (email, password) =>
    Promise.resolve(email === USER.email && password === PASSWORD ? USER : null),
  findUser: (id) => Promise.resolve(id === USER.id ? USER : null),
};

/**
 * Requests handled so far (response finished or connection closed), /bench/* excluded; counted
 * on the Node server, so the same on both platforms.
 */
let served = 0;

function countResponses(server: Server): void {
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith('/bench/')) return;
    res.once('close', () => {
      served += 1;
    });
  });
}

type Stats = { cpuMs: number; served: number };

const VERIFY_CALLS = 1000;
type VerifyCost = { calls: number; usPerCall: number };

/** µs per call of `VERIFY_CALLS` sequential calls (after a few warm-up calls). */
async function timeCalls(fn: () => Promise<unknown>): Promise<VerifyCost> {
  for (let i = 0; i < 20; i++) await fn();
  const t0 = performance.now();
  for (let i = 0; i < VERIFY_CALLS; i++) await fn();
  return { calls: VERIFY_CALLS, usPerCall: ((performance.now() - t0) * 1000) / VERIFY_CALLS };
}

function bearerOf(req: unknown): string {
  const token = /^Bearer (.+)$/.exec(HttpContext.raw(req).headers.authorization ?? '')?.[1];
  if (!token) throw new UnauthorizedException();
  return token;
}
const stats = (): Stats => {
  const cpu = process.cpuUsage();
  return { cpuMs: (cpu.user + cpu.system) / 1000, served };
};

// --- ours: SessionModule + AuthModule --------------------------------------------------------

@Controller()
class OursController {
  constructor(
    private readonly auth: AuthService,
    private readonly sessions: SessionService,
    private readonly accessTokens: AccessTokens,
  ) {}

  @Get('public')
  public(): BenchItem {
    return item();
  }

  @Get('private')
  @Authenticated()
  private(): BenchItem {
    return item();
  }

  /** Both credentials of user 1, through the public faces: a token pair, and a session (Set-Cookie). */
  @Post('bench/credentials')
  @HttpCode(200)
  async credentials(
    @Req() req: unknown,
    @Res({ passthrough: true }) res: unknown,
  ): Promise<{ bearer: string }> {
    const user = await this.auth.login(USER.email, PASSWORD, '127.0.0.1', 'session');
    await this.sessions.start(req, res, { userId: user.id, email: user.email, roles: user.roles });
    const pair = await this.auth.issueTokens(user);
    return { bearer: pair.accessToken };
  }

  /** What verifying the request's access token costs: `AccessTokens.verify`, sequential calls. */
  @Get('bench/verify-cost')
  verifyCost(@Req() req: unknown): Promise<VerifyCost> {
    const token = bearerOf(req);
    return timeCalls(() => this.accessTokens.verify(token));
  }

  @Get('bench/stats')
  stats(): Stats {
    return stats();
  }
}

// --- seed: GET blacklist:<raw token>, then verify --------------------------------------------

const SEED_BEARER = /^Bearer (.+)$/;

/** The seed's guard: the raw token is the blacklist key, checked before the signature. */
@Injectable()
class SeedJwtGuard implements CanActivate {
  constructor(
    @InjectRedis('state') private readonly redis: RedisClient,
    private readonly jwt: JwtService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const raw = HttpContext.raw(ctx.switchToHttp().getRequest());
    const token = SEED_BEARER.exec(raw.headers.authorization ?? '')?.[1];
    if (!token) throw new UnauthorizedException();
    if (await this.redis.get(`blacklist:${token}`)) throw new UnauthorizedException('revoked');
    try {
      (raw as { user?: unknown }).user = await this.jwt.verifyAsync(token);
    } catch {
      throw new UnauthorizedException();
    }
    return true;
  }
}

@Controller()
class SeedController {
  constructor(private readonly jwt: JwtService) {}

  @Get('public')
  public(): BenchItem {
    return item();
  }

  @Get('seed')
  @UseGuards(SeedJwtGuard)
  seed(): BenchItem {
    return item();
  }

  @Post('bench/credentials')
  @HttpCode(200)
  async credentials(): Promise<{ bearer: string }> {
    const bearer = await this.jwt.signAsync({
      sub: String(USER.id),
      email: USER.email,
      roles: USER.roles,
    });
    return { bearer };
  }

  /** What verifying the request's token costs: `JwtService.verifyAsync`, sequential calls. */
  @Get('bench/verify-cost')
  verifyCost(@Req() req: unknown): Promise<VerifyCost> {
    const token = bearerOf(req);
    return timeCalls(() => this.jwt.verifyAsync(token));
  }

  @Get('bench/stats')
  stats(): Stats {
    return stats();
  }
}

// --- connect-redis: express-session on node-redis (Express only) -----------------------------

type SessionRequest = { session?: session.Session & { userId?: number } };

@Injectable()
class ExpressSessionGuard implements CanActivate {
  canActivate(ctx: ExecutionContext): boolean {
    const req = ctx.switchToHttp().getRequest<SessionRequest>();
    if (typeof req.session?.userId !== 'number') throw new UnauthorizedException();
    return true;
  }
}

@Controller()
class ConnectRedisController {
  @Get('public')
  public(): BenchItem {
    return item();
  }

  @Get('es')
  @UseGuards(ExpressSessionGuard)
  es(): BenchItem {
    return item();
  }

  /** Logs user 1 in: express-session saves the session (SET … EX) and sets `connect.sid`. */
  @Post('bench/credentials')
  @HttpCode(200)
  credentials(@Req() req: SessionRequest): Promise<Record<string, never>> {
    return new Promise((resolve, reject) => {
      const s = req.session;
      if (!s) return reject(new Error('express-session is not installed'));
      s.regenerate((err) => {
        if (err) return reject(err as Error);
        (req.session as SessionRequest['session'] & object).userId = USER.id;
        resolve({});
      });
    });
  }

  @Get('bench/stats')
  stats(): Stats {
    return stats();
  }
}

// --- composition -----------------------------------------------------------------------------

function benchModule(config: AppConfig, stack: Stack): Type<unknown> {
  const base = [RedisModule.forRoot(redisOptions(config)), MetricsModule.forRoot({}), HttpModule];
  if (stack === 'ours') {
    @Module({
      imports: [
        ...base,
        SessionModule.forRoot({ ...sessionOptions(config), isGlobal: true }),
        AuthModule.forRoot({ ...authOptions(config, directory), isGlobal: true }),
      ],
      controllers: [OursController],
      // The same JWT settings AuthModule resolves, for GET /bench/verify-cost.
      providers: [
        {
          provide: AccessTokens,
          useFactory: () => new AccessTokens(resolveAuthOptions(authOptions(config, directory))),
        },
      ],
    })
    class OursModule {}
    return OursModule;
  }
  if (stack === 'seed') {
    @Module({
      imports: [
        ...base,
        JwtModule.register({
          secret: config.secrets.jwtSecret,
          signOptions: { expiresIn: Math.floor(config.auth.accessTtlMs / 1000) },
        }),
      ],
      controllers: [SeedController],
      providers: [SeedJwtGuard],
    })
    class SeedModule {}
    return SeedModule;
  }
  @Module({
    imports: base,
    controllers: [ConnectRedisController],
    providers: [ExpressSessionGuard],
  })
  class ConnectRedisModule {}
  return ConnectRedisModule;
}

async function main(): Promise<void> {
  const env = process.env;
  const redisUrl = privateRedisUrl();
  const stack = env.BENCH_STACK as Stack;
  if (!['ours', 'seed', 'connect-redis'].includes(stack))
    throw new Error(`BENCH_STACK must be ours | seed | connect-redis (got "${stack}")`);
  const config = benchConfig(redisUrl, { HTTP_PLATFORM: env.HTTP_PLATFORM });
  if (stack === 'connect-redis' && config.httpPlatform !== 'express')
    throw new Error('express-session + connect-redis runs on Express only');

  const app: INestApplication = await NestFactory.create(
    benchModule(config, stack),
    createHttpAdapter(config),
    { logger: false, bodyParser: false, abortOnError: false },
  );
  countResponses(app.getHttpServer() as Server);
  let nodeRedis: ReturnType<typeof createClient> | undefined;
  if (config.httpPlatform === 'express') {
    // What configureApp() adds on Express (the Fastify adapter does it in createHttpAdapter).
    const express = app as NestExpressApplication;
    express.use(expressRequestId);
    express.disable('x-powered-by');
    if (stack === 'connect-redis') {
      nodeRedis = createClient({ url: redisUrl });
      await nodeRedis.connect();
      express.use(
        session({
          store: new RedisStore({ client: nodeRedis, prefix: 'bench:es:' }),
          secret: config.secrets.sessionSecrets,
          resave: false,
          saveUninitialized: false,
          cookie: { httpOnly: true, sameSite: 'strict', secure: false },
        }),
      );
    }
  }
  await serveUntilStopped(app, () => {
    nodeRedis?.destroy();
  });
}

runServer(main);
