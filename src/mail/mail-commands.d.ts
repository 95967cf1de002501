// Typed commands for the scripts in ./lua (registered on the state client by MailService).
import 'ioredis';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** lua/mail-outbox-send.lua: [1, Message-ID] recorded now, [0, first Message-ID] already sent. */
    mailOutboxSend(
      sentKey: string,
      outboxKey: string,
      entry: string,
      outboxMax: number,
      sentTtlMs: number,
      messageId: string,
    ): Result<[number, string], Context>;
    /** lua/mail-claim.lua: [0, Message-ID] already sent, [1, ''] claimed, [2, PTTL] held by another attempt. */
    mailClaim(
      sentKey: string,
      claimKey: string,
      token: string,
      claimTtlMs: number,
    ): Result<[number, string], Context>;
    /** lua/mail-claim-extend.lua: 1 extended, 0 lost. */
    mailClaimExtend(claimKey: string, token: string, ttlMs: number): Result<number, Context>;
    /** lua/mail-mark-sent.lua: always 1. */
    mailMarkSent(
      sentKey: string,
      claimKey: string,
      token: string,
      messageId: string,
      sentTtlMs: number,
    ): Result<number, Context>;
  }
}
