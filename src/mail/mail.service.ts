import {
  Inject,
  Injectable,
  Logger,
  OnApplicationShutdown,
  OnModuleInit,
  Optional,
} from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import type { Transporter } from 'nodemailer';
import { sleep } from '../common';
import { MetricsService } from '../metrics';
import type { RedisClient } from '../redis';
import { defineScripts, InjectRedis, loadLuaScripts, RedisKeys } from '../redis';
import { MailRejectedError, MailUnavailableError } from './mail.errors';
import { MAIL_MODULE_OPTIONS, MailModuleOptions } from './mail.module-definition';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

export interface SendOptions {
  /**
   * What makes this send unique: a second `send` with the same key (a retried job) sends
   * nothing and answers the first Message-ID. Use the job's id.
   */
  key: string;
}

export interface SendResult {
  /** The `Message-ID` header, derived from the key (the same on every attempt). */
  messageId: string;
  /** True when the key had been sent already and nothing was sent now. */
  duplicate: boolean;
}

/** One message in the development outbox. */
export interface OutboxEntry {
  messageId: string;
  key: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  /** ISO 8601 time it was recorded. */
  sentAt: string;
}

export type MailTransportKind = 'smtp' | 'outbox';

export const MAIL_DEFAULTS = {
  from: 'no-reply@localhost',
  outboxMax: 1000,
  sentTtlMs: 7 * 86_400_000,
  claimTtlMs: 30_000,
  smtpTimeoutMs: 10_000,
} as const;

/** Error codes of nodemailer where a 5xx reply means "this message will never be accepted". */
const PERMANENT_CODES = new Set(['EENVELOPE', 'EMESSAGE']);

interface NodemailerError {
  code?: string;
  responseCode?: number;
  command?: string;
  message?: string;
}

/**
 * Sends e-mail exactly once per key.
 *
 * - **Outbox** (no `smtpUrl`, development): one Lua script checks the key's "sent" marker, pushes
 *   the message on a capped list and writes the marker, atomically: a retry finds the marker.
 * - **SMTP** (nodemailer): the key is claimed first (`SET NX PX`, renewed while sending) so two
 *   attempts never send at once; a marker found → nothing is sent. The `Message-ID` is derived
 *   from the key, and the marker is written (with the claim dropped) right after the server
 *   accepts. The one window left: a process that dies (or loses Redis) after the server accepted
 *   and before the marker is written; its retry sends again, with the same `Message-ID`.
 *
 * Markers live `sentTtlMs` (default 7 days), longer than any retry of the job can come.
 */
@Injectable()
export class MailService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Mail');
  private readonly keys: RedisKeys;
  private readonly from: string;
  private readonly domain: string;
  private readonly outboxMax: number;
  private readonly sentTtlMs: number;
  private readonly claimTtlMs: number;
  private readonly transporter?: Transporter;
  private readonly sends;

  constructor(
    @InjectRedis('state') private readonly redis: RedisClient,
    keys: RedisKeys,
    @Inject(MAIL_MODULE_OPTIONS) private readonly options: MailModuleOptions,
    @Optional() metrics: MetricsService = MetricsService.standalone(),
  ) {
    this.keys = keys.namespace('mail');
    this.from = options.from ?? MAIL_DEFAULTS.from;
    this.domain = domainOf(this.from);
    this.outboxMax = positive('outboxMax', options.outboxMax ?? MAIL_DEFAULTS.outboxMax);
    this.sentTtlMs = positive('sentTtlMs', options.sentTtlMs ?? MAIL_DEFAULTS.sentTtlMs);
    this.claimTtlMs = positive('claimTtlMs', options.claimTtlMs ?? MAIL_DEFAULTS.claimTtlMs);
    if (options.smtpUrl) {
      const timeout = options.smtpTimeoutMs ?? MAIL_DEFAULTS.smtpTimeoutMs;
      this.transporter = createTransport({
        url: options.smtpUrl,
        // One connection per message: a dropped or refused connection affects that message only.
        pool: false,
        connectionTimeout: timeout,
        greetingTimeout: timeout,
        socketTimeout: timeout,
        disableFileAccess: true,
        disableUrlAccess: true,
      });
    }
    this.sends = metrics.counter({
      name: 'mail_sends_total',
      help: 'E-mail sends by transport and result (sent, duplicate: the key was sent before, rejected: 5xx, failed: retryable)',
      labelNames: ['transport', 'result'],
    });
  }

  onModuleInit(): void {
    defineScripts(this.redis, loadLuaScripts(join(__dirname, 'lua')));
    if (!this.transporter && this.options.warnWithoutSmtp) {
      this.logger.warn(
        'SMTP_URL is not set: e-mails go to the Redis outbox only (the last OUTBOX_MAX messages) and are NOT delivered',
      );
    }
  }

  onApplicationShutdown(): void {
    this.transporter?.close();
  }

  /** Where messages go: the SMTP server or the Redis outbox. */
  get transport(): MailTransportKind {
    return this.transporter ? 'smtp' : 'outbox';
  }

  /** The Message-ID of a key: the same on every attempt (receivers can drop duplicates on it). */
  messageIdFor(key: string): string {
    const digest = createHash('sha256')
      .update(`${this.keys.base}\0${key}`)
      .digest('base64url')
      .slice(0, 32);
    return `<${digest}@${this.domain}>`;
  }

  /** The outbox list (newest first). */
  outboxKey(): string {
    return this.keys.tagged('outbox', 'list');
  }

  /**
   * The "sent" marker of a key. Outbox mode: beside the list (one hash tag, one script writes
   * both). SMTP mode: beside the key's claim, under a tag of its own (spread over a Cluster).
   */
  sentKey(key: string): string {
    return this.transporter
      ? this.keys.tagged(`k:${key}`, 'sent')
      : this.keys.tagged('outbox', 'sent', key);
  }

  /** The SMTP claim of a key (a random token while an attempt is sending). */
  claimKey(key: string): string {
    return this.keys.tagged(`k:${key}`, 'claim');
  }

  /**
   * Sends one message, exactly once per `key` (see the class comment for the one window).
   * Throws {@link MailRejectedError} when the server refuses it for good (5xx),
   * {@link MailUnavailableError} when it cannot be sent now (retry), and Redis errors as they
   * come (retry too).
   *
   * @example
   * await mail.send({ to: 'ada@example.com', subject: 'Hi', text: 'Hello' }, { key: `email:${job.id}` });
   */
  async send(message: MailMessage, { key }: SendOptions): Promise<SendResult> {
    if (typeof key !== 'string' || key.length === 0 || key.length > 512)
      throw new Error('MailService.send: key must be a string of 1-512 characters');
    const messageId = this.messageIdFor(key);
    const result = this.transporter
      ? await this.sendSmtp(this.transporter, message, key, messageId)
      : await this.sendOutbox(message, key, messageId);
    this.sends.inc({ transport: this.transport, result: result.duplicate ? 'duplicate' : 'sent' });
    return result;
  }

  /** The newest `limit` messages of the outbox, newest first. */
  async outbox(limit: number): Promise<OutboxEntry[]> {
    const raw = await this.redis.lrange(this.outboxKey(), 0, Math.max(0, limit - 1));
    const out: OutboxEntry[] = [];
    for (const r of raw) {
      try {
        out.push(JSON.parse(r) as OutboxEntry);
      } catch {
        // not ours: skip
      }
    }
    return out;
  }

  private async sendOutbox(
    message: MailMessage,
    key: string,
    messageId: string,
  ): Promise<SendResult> {
    const entry: OutboxEntry = {
      messageId,
      key,
      from: this.from,
      to: message.to,
      subject: message.subject,
      text: message.text,
      sentAt: new Date().toISOString(),
    };
    const [fresh, id] = await this.redis.mailOutboxSend(
      this.sentKey(key),
      this.outboxKey(),
      JSON.stringify(entry),
      this.outboxMax,
      this.sentTtlMs,
      messageId,
    );
    return { messageId: id, duplicate: Number(fresh) === 0 };
  }

  private async sendSmtp(
    transporter: Transporter,
    message: MailMessage,
    key: string,
    messageId: string,
  ): Promise<SendResult> {
    const sentKey = this.sentKey(key);
    const claimKey = this.claimKey(key);
    const token = randomUUID();
    // Another attempt holds the claim: wait for its outcome (its marker, or the claim freed
    // after a failure, or expired after a crash), at most about one claim lease.
    const waitUntil = Date.now() + this.claimTtlMs + 1_000;
    for (;;) {
      const [code, value] = await this.redis.mailClaim(sentKey, claimKey, token, this.claimTtlMs);
      if (Number(code) === 0) return { messageId: value, duplicate: true };
      if (Number(code) === 1) break;
      if (Date.now() >= waitUntil) {
        this.sends.inc({ transport: 'smtp', result: 'failed' });
        throw new MailUnavailableError('Another attempt is sending this message; retry later', {
          key,
        });
      }
      await sleep(Math.min(Math.max(Number(value), 20), 250));
    }

    const renew = setInterval(
      () => {
        this.redis
          .mailClaimExtend(claimKey, token, this.claimTtlMs)
          .catch((e: Error) =>
            this.logger.warn(`Could not renew the send claim of ${key}: ${e.message}`),
          );
      },
      Math.max(Math.floor(this.claimTtlMs / 3), 10),
    );
    renew.unref();
    try {
      await transporter.sendMail({
        from: this.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        messageId,
      });
    } catch (e) {
      clearInterval(renew);
      // Free the key at once for the retry (if Redis is down, the lease runs out by itself).
      await this.redis.compareAndDelete(claimKey, token).catch(() => undefined);
      const err = classify(e);
      this.sends.inc({ transport: 'smtp', result: err.permanent ? 'rejected' : 'failed' });
      throw err;
    }
    clearInterval(renew);
    try {
      await this.redis.mailMarkSent(sentKey, claimKey, token, messageId, this.sentTtlMs);
    } catch (e) {
      // The server has the message: failing now would make the job send it again. The marker is
      // missing, so only a retry of this job (it would have to fail later) could resend it.
      this.logger.error(
        `Sent ${messageId} (key ${key}) but could not record it: ${(e as Error).message}`,
      );
    }
    return { messageId, duplicate: false };
  }
}

/** Maps a nodemailer error onto a permanent (5xx refusal) or a retryable failure. */
function classify(e: unknown): MailRejectedError | MailUnavailableError {
  const err = (e ?? {}) as NodemailerError;
  const details = { responseCode: err.responseCode, command: err.command };
  if (
    typeof err.responseCode === 'number' &&
    err.responseCode >= 500 &&
    err.responseCode < 600 &&
    PERMANENT_CODES.has(err.code ?? '')
  ) {
    return new MailRejectedError(`The mail server refused the message: ${err.message}`, details);
  }
  return new MailUnavailableError(
    `The mail server could not take the message now (${err.code ?? 'error'}): ${err.message ?? String(e)}`,
    { ...details, code: err.code },
  );
}

/** The domain of a `From` address (`Name <user@host>` or `user@host`), for the Message-ID. */
function domainOf(from: string): string {
  const m = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from);
  return m ? m[1] : 'localhost';
}

function positive(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`MailModule: ${name} must be a positive integer (got ${v})`);
  return v;
}
