import { Module } from '@nestjs/common';
import { UsersModule } from '../users';
import { NotifyController } from './notify.controller';
import { RealtimeLinks } from './realtime-links';

/**
 * Notifications over WebSockets (API role): `POST /api/notify`, and the links between realtime
 * and the rest of the app (job completion events to their users, sockets closed on logout and
 * revocation). Needs RealtimeModule, QueueModule, SessionModule and AuthModule (global).
 */
@Module({
  imports: [UsersModule],
  controllers: [NotifyController],
  providers: [RealtimeLinks],
})
export class NotificationsModule {}
