import { ConfigurableModuleBuilder } from '@nestjs/common';

/**
 * Options of {@link MailModule}.
 *
 * @example
 * MailModule.forRoot({ smtpUrl: 'smtp://user:pass@smtp.example.com:587', from: 'no-reply@example.com' })
 * MailModule.forRoot({ outboxMax: 1000, outboxEndpoint: true }) // development: the Redis outbox
 */
export interface MailModuleOptions {
  /**
   * `smtp://` or `smtps://` URL of the server that delivers the mail (nodemailer). Unset: every
   * message goes to the Redis outbox instead (development), and nothing is delivered.
   */
  smtpUrl?: string;
  /** The `From` address. Default `no-reply@localhost`. */
  from?: string;
  /** How many messages the outbox keeps (the newest). Default 1000. */
  outboxMax?: number;
  /**
   * How long a "sent" marker is kept (ms): a send with the same key within this time is a
   * duplicate and is skipped. It must outlive every retry of the job that sends (attempts with
   * backoff take seconds; an admin retry of a dead letter can come days later). Default 7 days.
   */
  sentTtlMs?: number;
  /**
   * Lease of the SMTP claim (ms), renewed every third of it while the send runs: a worker that
   * dies mid-send blocks other attempts of that key for at most this long. Default 30 s.
   */
  claimTtlMs?: number;
  /** Connection, greeting and socket-idle timeouts of the SMTP client (ms). Default 10 s. */
  smtpTimeoutMs?: number;
  /** Log a warning at start when no `smtpUrl` is set (production: mail is not delivered). */
  warnWithoutSmtp?: boolean;
}

export interface MailModuleExtras {
  isGlobal: boolean;
  /**
   * Serve `GET /api/dev/outbox` from this module. Only for development and test API processes:
   * the composition root turns it off in production and in the worker role (404 there).
   */
  outboxEndpoint: boolean;
}

export const {
  ConfigurableModuleClass: MailConfigurableModule,
  MODULE_OPTIONS_TOKEN: MAIL_MODULE_OPTIONS,
  OPTIONS_TYPE: MAIL_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: MAIL_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<MailModuleOptions>({ moduleName: 'Mail' })
  .setClassMethodName('forRoot')
  .setExtras<MailModuleExtras>(
    { isGlobal: false, outboxEndpoint: false },
    (definition, extras) => ({
      ...definition,
      global: extras.isGlobal,
    }),
  )
  .build();
