import { Module } from '@nestjs/common';
import { SessionAuthController, TokenAuthController } from './account.controller';

/**
 * The identity endpoints of the reference app (login, me, logout, my sessions, tokens), on the
 * Session and Auth modules. The users domain is the user directory (composition root).
 */
@Module({ controllers: [SessionAuthController, TokenAuthController] })
export class AccountModule {}
