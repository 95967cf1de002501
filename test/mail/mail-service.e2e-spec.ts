import type { LoggerService } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { redisOptions } from '../../src/app.options';
import { loadConfig } from '../../src/config';
import {
  MailModule,
  MailModuleOptions,
  MailRejectedError,
  MailService,
  MailUnavailableError,
} from '../../src/mail';
import { getRedisToken, RedisClient, RedisModule } from '../../src/redis';
import { sharedRedisEnv, testPrefix } from '../support/app';
import { TestSmtpServer } from '../support/smtp';

/**
 * MailService on its own (RedisModule + MailModule, no AppConfig), against the run's real Redis
 * (standalone or Cluster) and a real SMTP server in process.
 */
async function mailContext(
  options: MailModuleOptions,
  logger: LoggerService | false = false,
): Promise<{ module: TestingModule; mail: MailService; redis: RedisClient }> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'error',
    REDIS_PREFIX: testPrefix(__filename),
    ...sharedRedisEnv(),
  });
  const module = await Test.createTestingModule({
    imports: [RedisModule.forRoot(redisOptions(config)), MailModule.forRoot(options)],
  }).compile();
  module.useLogger(logger);
  await module.init();
  return {
    module,
    mail: module.get(MailService),
    redis: module.get<RedisClient>(getRedisToken('state')),
  };
}

describe('MailService over SMTP (a real smtp-server in process)', () => {
  let smtp: TestSmtpServer;
  let ctx: Awaited<ReturnType<typeof mailContext>>;

  beforeAll(async () => {
    smtp = await TestSmtpServer.start();
    ctx = await mailContext({
      smtpUrl: smtp.url,
      from: 'Patterns <no-reply@patterns.test>',
      claimTtlMs: 1_500,
    });
  });
  afterAll(async () => {
    await ctx?.module.close();
    await smtp?.close();
  });
  beforeEach(() => {
    smtp.dataDelayMs = 0;
    smtp.failNext(0);
  });

  it('delivers the message with its From, To, Subject, body and the Message-ID of the key', async () => {
    const r = await ctx.mail.send(
      { to: 'ada@example.com', subject: 'Welcome aboard', text: 'Hello Ada' },
      { key: 'headers-1' },
    );
    expect(r).toEqual({ messageId: ctx.mail.messageIdFor('headers-1'), duplicate: false });
    expect(r.messageId).toMatch(/^<[A-Za-z0-9_-]{32}@patterns\.test>$/);
    const [m] = smtp.withMessageId(r.messageId);
    expect(m).toBeDefined();
    expect(m.from).toBe('no-reply@patterns.test');
    expect(m.to).toEqual(['ada@example.com']);
    expect(m.headers.from).toBe('Patterns <no-reply@patterns.test>');
    expect(m.headers.to).toBe('ada@example.com');
    expect(m.headers.subject).toBe('Welcome aboard');
    expect(m.body.trim()).toBe('Hello Ada');
    // The claim is gone and the marker holds the Message-ID.
    expect(await ctx.redis.get(ctx.mail.sentKey('headers-1'))).toBe(r.messageId);
    expect(await ctx.redis.exists(ctx.mail.claimKey('headers-1'))).toBe(0);
    const ttl = await ctx.redis.pttl(ctx.mail.sentKey('headers-1'));
    expect(ttl).toBeGreaterThan(6 * 86_400_000);
  });

  it('sends once for 20 concurrent sends of one key, and again never for its retries', async () => {
    smtp.dataDelayMs = 300; // the first send is still in flight while the others arrive
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        ctx.mail.send({ to: 'bob@example.com', subject: 'Once', text: 'x' }, { key: 'conc-1' }),
      ),
    );
    const id = ctx.mail.messageIdFor('conc-1');
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(new Set(results.map((r) => r.messageId))).toEqual(new Set([id]));
    const retry = await ctx.mail.send(
      { to: 'bob@example.com', subject: 'Once', text: 'x' },
      { key: 'conc-1' },
    );
    expect(retry).toEqual({ messageId: id, duplicate: true });
    expect(smtp.withMessageId(id)).toHaveLength(1);
  });

  it('keeps the claim alive while a send outlasts its lease, so a concurrent attempt never sends too', async () => {
    smtp.dataDelayMs = 2_000; // longer than the 1.5 s lease: only its renewal keeps it
    const msg = { to: 'slow@example.com', subject: 'Slow', text: 'x' };
    const first = ctx.mail.send(msg, { key: 'slow-1' });
    await new Promise((r) => setTimeout(r, 200));
    const second = await Promise.allSettled([ctx.mail.send(msg, { key: 'slow-1' })]);
    expect(await first).toMatchObject({ duplicate: false });
    // The second attempt either saw the marker or gave up (retryable); it never sent.
    if (second[0].status === 'fulfilled') expect(second[0].value.duplicate).toBe(true);
    else expect(second[0].reason).toBeInstanceOf(MailUnavailableError);
    expect(smtp.withMessageId(ctx.mail.messageIdFor('slow-1'))).toHaveLength(1);
  });

  it('different keys are different messages', async () => {
    const [a, b] = await Promise.all(
      ['k-a', 'k-b'].map((key) =>
        ctx.mail.send({ to: 'c@example.com', subject: 's', text: 't' }, { key }),
      ),
    );
    expect(a.messageId).not.toBe(b.messageId);
    expect(smtp.withMessageId(a.messageId)).toHaveLength(1);
    expect(smtp.withMessageId(b.messageId)).toHaveLength(1);
  });

  it('a temporary refusal (451) is retryable, frees the key, and the retry sends it once', async () => {
    smtp.failNext(1);
    const msg = { to: 'dan@example.com', subject: 'Later', text: 'x' };
    const err = await ctx.mail.send(msg, { key: 'tmp-1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MailUnavailableError);
    expect((err as MailUnavailableError).permanent).toBe(false);
    expect(await ctx.redis.exists(ctx.mail.claimKey('tmp-1'))).toBe(0);
    expect(await ctx.mail.send(msg, { key: 'tmp-1' })).toEqual({
      messageId: ctx.mail.messageIdFor('tmp-1'),
      duplicate: false,
    });
    expect(smtp.withMessageId(ctx.mail.messageIdFor('tmp-1'))).toHaveLength(1);
  });

  it('a recipient refused for good (550) is a permanent MailRejectedError; nothing is marked sent', async () => {
    const err = await ctx.mail
      .send({ to: 'rejected@example.com', subject: 's', text: 't' }, { key: 'rej-1' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MailRejectedError);
    expect((err as MailRejectedError).permanent).toBe(true);
    expect((err as MailRejectedError).message).toMatch(/refused/);
    expect(await ctx.redis.exists(ctx.mail.sentKey('rej-1'))).toBe(0);
    expect(await ctx.redis.exists(ctx.mail.claimKey('rej-1'))).toBe(0);
  });

  it('a connection cut by the server is retryable; nothing arrived, nothing is marked', async () => {
    const err = await ctx.mail
      .send({ to: 'drop@example.com', subject: 's', text: 't' }, { key: 'drop-1' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MailUnavailableError);
    expect(smtp.withMessageId(ctx.mail.messageIdFor('drop-1'))).toHaveLength(0);
    expect(await ctx.redis.exists(ctx.mail.sentKey('drop-1'))).toBe(0);
  });

  it('a claim left by an attempt that died mid-send blocks others only until its lease ends, then the message is sent once', async () => {
    // What a SIGKILLed sender leaves: its claim, no marker.
    await ctx.redis.set(ctx.mail.claimKey('crash-1'), 'dead-worker-token', 'PX', 1_000);
    const r = await ctx.mail.send(
      { to: 'eve@example.com', subject: 'After a crash', text: 'x' },
      { key: 'crash-1' },
    );
    expect(r.duplicate).toBe(false);
    expect(smtp.withMessageId(r.messageId)).toHaveLength(1);
  });

  it('gives up waiting on a claim that stays held (a live, slow sender) with a retryable error', async () => {
    await ctx.redis.set(ctx.mail.claimKey('held-1'), 'other', 'PX', 60_000);
    const err = await ctx.mail
      .send({ to: 'f@example.com', subject: 's', text: 't' }, { key: 'held-1' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MailUnavailableError);
    expect((err as Error).message).toMatch(/Another attempt is sending/);
    expect(smtp.withMessageId(ctx.mail.messageIdFor('held-1'))).toHaveLength(0);
    await ctx.redis.del(ctx.mail.claimKey('held-1'));
  });
});

describe('MailService with an unreachable SMTP server', () => {
  it('fails with a retryable MailUnavailableError (connection refused)', async () => {
    const smtp = await TestSmtpServer.start();
    const url = smtp.url;
    await smtp.close(); // the port is now closed
    const ctx = await mailContext({ smtpUrl: url, smtpTimeoutMs: 2_000 });
    try {
      const err = await ctx.mail
        .send({ to: 'a@example.com', subject: 's', text: 't' }, { key: 'down-1' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MailUnavailableError);
      expect(await ctx.redis.exists(ctx.mail.claimKey('down-1'))).toBe(0);
    } finally {
      await ctx.module.close();
    }
  });
});

describe('MailService without SMTP: the Redis outbox', () => {
  let ctx: Awaited<ReturnType<typeof mailContext>>;
  beforeAll(async () => {
    ctx = await mailContext({ outboxMax: 5 });
  });
  afterAll(() => ctx?.module.close());

  it('records each key once across concurrent and repeated sends, newest first', async () => {
    const keys = ['o-1', 'o-2', 'o-3'];
    const results = await Promise.all(
      keys.flatMap((key) =>
        Array.from({ length: 10 }, () =>
          ctx.mail.send({ to: `${key}@example.com`, subject: key, text: 'x' }, { key }),
        ),
      ),
    );
    expect(results.filter((r) => !r.duplicate)).toHaveLength(3);
    const box = await ctx.mail.outbox(100);
    expect(box.map((m) => m.key).sort()).toEqual(keys);
    for (const m of box) {
      expect(m).toMatchObject({
        messageId: ctx.mail.messageIdFor(m.key),
        from: 'no-reply@localhost',
        to: `${m.key}@example.com`,
        subject: m.key,
        text: 'x',
      });
      expect(await ctx.redis.get(ctx.mail.sentKey(m.key))).toBe(m.messageId);
    }
    await ctx.mail.send({ to: 'n@example.com', subject: 'newest', text: 'x' }, { key: 'o-4' });
    expect((await ctx.mail.outbox(1))[0].key).toBe('o-4');
  });

  it('keeps only the last outboxMax messages (the markers still stop duplicates)', async () => {
    for (let i = 0; i < 12; i++) {
      await ctx.mail.send(
        { to: 'cap@example.com', subject: `cap ${i}`, text: 'x' },
        { key: `cap-${i}` },
      );
    }
    expect(await ctx.redis.llen(ctx.mail.outboxKey())).toBe(5);
    expect((await ctx.mail.outbox(100)).map((m) => m.subject)).toEqual([
      'cap 11',
      'cap 10',
      'cap 9',
      'cap 8',
      'cap 7',
    ]);
    // cap-0 fell off the list, but it was sent: a retry of it is still a duplicate.
    expect(
      await ctx.mail.send({ to: 'cap@example.com', subject: 'cap 0', text: 'x' }, { key: 'cap-0' }),
    ).toMatchObject({ duplicate: true });
    expect(await ctx.redis.llen(ctx.mail.outboxKey())).toBe(5);
  });

  it('warns at start that nothing is delivered when asked to (production without SMTP_URL)', async () => {
    const warnings: string[] = [];
    const quiet = () => undefined;
    const logger: LoggerService = {
      log: quiet,
      error: quiet,
      warn: (m: unknown) => void warnings.push(String(m)),
    };
    const warned = await mailContext({ warnWithoutSmtp: true }, logger);
    await warned.module.close();
    expect(warnings).toEqual([expect.stringMatching(/SMTP_URL is not set.*NOT delivered/)]);
    expect(ctx.mail.transport).toBe('outbox');
  });

  it('refuses an empty key', async () => {
    await expect(
      ctx.mail.send({ to: 'a@example.com', subject: 's', text: 't' }, { key: '' }),
    ).rejects.toThrow(/key must be/);
  });
});
