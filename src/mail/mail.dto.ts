import { ApiProperty } from '@nestjs/swagger';

export class OutboxEntryDto {
  @ApiProperty({
    example: '<3q2vBv0oZb0dJx7tR2Qm1w7cXkQmYb1A@localhost>',
    description: 'the Message-ID header, derived from the send key',
  })
  messageId: string;

  @ApiProperty({
    example: 'email.17.1733050000000',
    description: 'the send key (one message per key)',
  })
  key: string;

  @ApiProperty({ example: 'no-reply@localhost' }) from: string;
  @ApiProperty({ example: 'ada@example.com' }) to: string;
  @ApiProperty({ example: 'Welcome' }) subject: string;
  @ApiProperty({ example: 'Hello Ada' }) text: string;
  @ApiProperty({ format: 'date-time' }) sentAt: string;
}

export class OutboxDto {
  @ApiProperty({
    enum: ['outbox', 'smtp'],
    description: 'where messages go: `smtp` when SMTP_URL is set (the outbox then stays empty)',
  })
  transport: string;

  @ApiProperty({ type: [OutboxEntryDto], description: 'newest first' })
  messages: OutboxEntryDto[];
}
