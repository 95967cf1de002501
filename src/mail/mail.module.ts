import { DynamicModule, Module } from '@nestjs/common';
import { MailOutboxController } from './mail-outbox.controller';
import {
  MAIL_ASYNC_OPTIONS_TYPE,
  MAIL_OPTIONS_TYPE,
  MailConfigurableModule,
} from './mail.module-definition';
import { MailService } from './mail.service';

/**
 * E-mail sent exactly once per key (`MailService.send`): through SMTP (nodemailer) when
 * `smtpUrl` is set, else into a capped Redis outbox (development), readable at
 * `GET /api/dev/outbox` when `outboxEndpoint` is on. Needs `RedisModule` (role `state`);
 * `MetricsModule` optional.
 *
 * @example
 * MailModule.forRoot({ smtpUrl: settings.smtpUrl, from: 'no-reply@example.com', isGlobal: true })
 * MailModule.forRootAsync({ inject: [Settings], useFactory: (s: Settings) => ({ smtpUrl: s.smtp }), outboxEndpoint: true })
 */
@Module({
  providers: [MailService],
  exports: [MailService],
})
export class MailModule extends MailConfigurableModule {
  static forRoot(options: typeof MAIL_OPTIONS_TYPE): DynamicModule {
    return withEndpoint(super.forRoot(options), options.outboxEndpoint);
  }

  static forRootAsync(options: typeof MAIL_ASYNC_OPTIONS_TYPE): DynamicModule {
    return withEndpoint(super.forRootAsync(options), options.outboxEndpoint);
  }
}

function withEndpoint(module: DynamicModule, endpoint: boolean | undefined): DynamicModule {
  return endpoint ? { ...module, controllers: [MailOutboxController] } : module;
}
