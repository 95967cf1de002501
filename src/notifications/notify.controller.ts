import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import { Authenticated, CurrentUser, Identity } from '../auth';
import { AppError, NotFoundError } from '../common';
import { ApiStandardResponses } from '../http';
import { RealtimeService } from '../realtime';
import { UsersService } from '../users';
import { NotifyDto, NotifySentDto } from './notify.dto';

/** What a `notification` socket event carries. */
export interface NotificationEvent {
  id: string;
  message: string;
  from: number;
  sentAt: string;
}

class NotifyForbiddenError extends AppError {
  constructor() {
    super(
      'FORBIDDEN',
      'Only an admin may notify another user; you may notify yourself',
      undefined,
      {
        status: 403,
      },
    );
  }
}

@ApiTags('realtime')
@Controller('api')
@Authenticated()
export class NotifyController {
  constructor(
    private readonly realtime: RealtimeService,
    private readonly users: UsersService,
  ) {}

  /**
   * Sends a `notification` event to every socket of a user, on every instance (the seed's 5.1).
   * Admins may notify anyone, other users only themselves.
   */
  @Post('notify')
  @HttpCode(200)
  @ApiStandardResponses({
    summary: 'Send a notification to a user’s open WebSocket connections',
    success: { status: 200, description: 'Stored in the event stream', type: NotifySentDto },
    errors: {
      403: 'Not an admin, and userId is not you',
      404: 'No such user',
      503: 'Redis is unavailable: nothing was sent; retry (with the same id to avoid a duplicate)',
    },
    jsonBody: true,
    auth: {},
  })
  async notify(@CurrentUser() user: Identity, @Body() dto: NotifyDto): Promise<NotifySentDto> {
    if (dto.userId !== user.id && !user.roles.includes('admin')) throw new NotifyForbiddenError();
    if (dto.userId !== user.id && !(await this.users.findUser(dto.userId)))
      throw new NotFoundError('user', dto.userId);
    const id = dto.id ?? randomUUID();
    const event: NotificationEvent = {
      id,
      message: dto.message,
      from: user.id,
      sentAt: new Date().toISOString(),
    };
    // Duplicates are recognised per sender: another user's id never suppresses yours.
    await this.realtime.toUser(dto.userId, 'notification', event, { id: `${user.id}:${id}` });
    return { sent: true, id };
  }
}
