import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiCookieAuth, ApiParam, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { AuthService, Authenticated, CurrentUser, Identity } from '../auth';
import { ApiStandardResponses, HttpContext } from '../http';
import { SessionRecord, SessionService } from '../session';
import {
  LoginDto,
  MeDto,
  RefreshDto,
  RevokedDto,
  SESSION_ID_EXAMPLE,
  SessionDto,
  TokenPairDto,
} from './account.dto';

const LOGIN_ERRORS = {
  401: 'Invalid email or password (the same answer for an unknown email, after the same work)',
  429: 'Too many failed logins for this account or this client; `Retry-After` says when to retry',
  503: 'Redis is unavailable: no session or token can be issued',
};

function clientOf(req: unknown): string {
  const r = req as { ip?: string };
  return r.ip ?? HttpContext.raw(req).socket.remoteAddress ?? 'unknown';
}

function toSessionDto(s: SessionRecord, current?: string): SessionDto {
  return {
    id: s.id,
    createdAt: new Date(s.createdAt).toISOString(),
    lastSeenAt: new Date(s.lastSeenAt).toISOString(),
    expiresAt: new Date(s.expiresAt).toISOString(),
    userAgent: s.userAgent ?? null,
    ip: s.ip ?? null,
    current: s.id === current,
  };
}

/** The seed's part 3.1: a session cookie (login, me, logout) and session management. */
@ApiTags('auth')
@Controller('api')
export class SessionAuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly sessions: SessionService,
  ) {}

  @Post('login')
  @HttpCode(200)
  @ApiStandardResponses({
    summary: 'Log in with email and password: a new session cookie',
    description:
      'Always a new session id (an id set before login is worthless after it). The cookie is HttpOnly, SameSite=Strict by default, Secure in production.',
    success: {
      status: 200,
      description: 'Logged in; `Set-Cookie` carries the session',
      type: MeDto,
    },
    errors: LOGIN_ERRORS,
    jsonBody: true,
  })
  async login(
    @Body() dto: LoginDto,
    @Req() req: unknown,
    @Res({ passthrough: true }) res: unknown,
  ): Promise<MeDto> {
    const user = await this.auth.login(dto.email, dto.password, clientOf(req), 'session');
    await this.sessions.start(req, res, {
      userId: user.id,
      email: user.email,
      roles: user.roles,
      userAgent: HttpContext.raw(req).headers['user-agent'],
      ip: clientOf(req),
    });
    return { userId: user.id, email: user.email, roles: user.roles, via: 'session' };
  }

  @Get('me')
  @Authenticated()
  @ApiStandardResponses({
    summary: 'Who am I: the user of the session cookie or Bearer token',
    success: { status: 200, description: 'The authenticated user', type: MeDto },
    auth: {},
  })
  me(@CurrentUser() user: Identity): MeDto {
    return { userId: user.id, email: user.email, roles: user.roles, via: user.via };
  }

  @Post('logout')
  @HttpCode(204)
  // Reads the session cookie when there is one, needs none: security `session` or nothing.
  @ApiCookieAuth('session')
  @ApiSecurity({})
  @ApiStandardResponses({
    summary: 'Log out: end this session and clear its cookie',
    success: { status: 204, description: 'Logged out (also when there was no session)' },
    errors: { 503: 'Redis is unavailable: the session could not be ended' },
    jsonBody: 'unused',
  })
  async logout(@Req() req: unknown, @Res({ passthrough: true }) res: unknown): Promise<void> {
    await this.sessions.end(req, res);
  }

  @Get('me/sessions')
  @Authenticated()
  @ApiStandardResponses({
    summary: 'My sessions: when and where they started, last seen, which one is this',
    success: { status: 200, description: 'Live sessions, oldest first', type: [SessionDto] },
    auth: {},
  })
  async mySessions(@CurrentUser() user: Identity): Promise<SessionDto[]> {
    return (await this.sessions.list(user.id)).map((s) => toSessionDto(s, user.sessionId));
  }

  @Delete('me/sessions/:id')
  @HttpCode(204)
  @Authenticated()
  @ApiParam({
    name: 'id',
    description:
      'a session id from GET /api/me/sessions (43 characters of base64url). Any other value, whatever its shape, names no session of yours: 404',
    schema: { type: 'string', minLength: 1, example: SESSION_ID_EXAMPLE },
  })
  @ApiStandardResponses({
    summary: 'End one of my sessions (on every instance at once)',
    success: { status: 204, description: 'Ended' },
    errors: { 404: 'No such session of yours' },
    auth: {},
    jsonBody: 'unused',
  })
  async revokeSession(@CurrentUser() user: Identity, @Param('id') id: string): Promise<void> {
    await this.sessions.revoke(user.id, id);
  }

  @Post('me/sessions/revoke-others')
  @HttpCode(200)
  @Authenticated()
  @ApiStandardResponses({
    summary: 'End all my sessions but this one',
    success: { status: 200, description: 'How many ended', type: RevokedDto },
    auth: {},
    jsonBody: 'unused',
  })
  async revokeOthers(@CurrentUser() user: Identity): Promise<RevokedDto> {
    return { revoked: await this.sessions.revokeAll(user.id, user.sessionId) };
  }
}

/** The seed's part 3.2: JWT access tokens, rotating refresh tokens, logout and logout-all. */
@ApiTags('auth')
@Controller('api/auth')
export class TokenAuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly sessions: SessionService,
  ) {}

  @Post('token')
  @HttpCode(200)
  @ApiStandardResponses({
    summary: 'Log in with email and password: an access token and a refresh token',
    success: { status: 200, description: 'A new token pair', type: TokenPairDto },
    errors: LOGIN_ERRORS,
    jsonBody: true,
  })
  async token(@Body() dto: LoginDto, @Req() req: unknown): Promise<TokenPairDto> {
    const user = await this.auth.login(dto.email, dto.password, clientOf(req), 'token');
    return this.auth.issueTokens(user);
  }

  @Post('refresh')
  @HttpCode(200)
  @ApiStandardResponses({
    summary: 'Trade a refresh token for a new pair (the old one is used up)',
    description:
      'Refresh tokens rotate on every use. Presenting one that was already used revokes its whole family (RFC 9700 §4.14.2), except the one just replaced within a few seconds (a concurrent refresh), which is only refused.',
    success: { status: 200, description: 'A new token pair', type: TokenPairDto },
    errors: {
      401: 'The refresh token is invalid, expired, revoked, or was already used',
      503: 'Redis is unavailable',
    },
    jsonBody: true,
  })
  refresh(@Body() dto: RefreshDto): Promise<TokenPairDto> {
    return this.auth.refresh(dto.refreshToken);
  }

  @Post('logout')
  @HttpCode(204)
  @Authenticated()
  @ApiStandardResponses({
    summary:
      'Revoke the presented credential: an access token and its refresh-token family, or a session',
    description:
      'With a Bearer token: the token is refused until it expires and its refresh family is revoked. With a session cookie: the session ends and the cookie is cleared (as POST /api/logout).',
    success: { status: 204, description: 'Revoked' },
    auth: {},
    jsonBody: 'unused',
  })
  async logout(
    @CurrentUser() user: Identity,
    @Req() req: unknown,
    @Res({ passthrough: true }) res: unknown,
  ): Promise<void> {
    if (user.via === 'session') await this.sessions.end(req, res);
    else await this.auth.logoutToken(user);
  }

  @Post('logout-all')
  @HttpCode(204)
  @Authenticated()
  @ApiStandardResponses({
    summary: 'Log out everywhere: every session and every token of the user, on every instance',
    success: { status: 204, description: 'Done' },
    auth: {},
    jsonBody: 'unused',
  })
  async logoutAll(@CurrentUser() user: Identity): Promise<void> {
    await this.auth.logoutAll(user.id);
  }
}
