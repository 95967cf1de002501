import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import { IsId, IsText, OptionalField, RequiredField } from '../http';

export const NOTIFY_MESSAGE = { min: 1, max: 1000, multiline: true };
/** A client's id for a notification: resend with the same id and it is delivered once. */
export const NOTIFICATION_ID = /^[A-Za-z0-9_-]{1,64}$/;

export class NotifyDto {
  @ApiProperty({ example: 2, minimum: 1, maximum: 2147483647, description: 'the recipient' })
  @RequiredField(IsId())
  userId: number;

  @ApiProperty({
    example: 'Your report is ready',
    minLength: NOTIFY_MESSAGE.min,
    maxLength: NOTIFY_MESSAGE.max,
    description: 'the text: no control characters other than tab and line breaks, not blank',
  })
  @RequiredField(IsText(NOTIFY_MESSAGE))
  message: string;

  @ApiPropertyOptional({
    example: 'welcome-42',
    pattern: NOTIFICATION_ID.source,
    description:
      'your id for this notification: retrying with the same id (after a 503) delivers it once',
  })
  @OptionalField()
  @Matches(NOTIFICATION_ID, { message: 'id must be 1-64 letters, digits, _ or -' })
  id?: string;
}

export class NotifySentDto {
  @ApiProperty({ example: true }) sent: true;
  @ApiProperty({ example: 'f1c1a3d2-…', description: 'the notification id (yours, or a new one)' })
  id: string;
}
