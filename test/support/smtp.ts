import type { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** One message the test SMTP server accepted. */
export interface ReceivedMail {
  from: string;
  to: string[];
  /** Header name (lower case) → value (first occurrence, unfolded). */
  headers: Record<string, string>;
  body: string;
  raw: string;
}

/**
 * A real SMTP server in process (the `smtp-server` package), on a random port of 127.0.0.1, with
 * behaviour chosen by recipient, so a test drives every outcome through real SMTP:
 * - `reject…@…` → 550 at RCPT TO (a permanent refusal),
 * - `busy…@…` → 451 at RCPT TO (a temporary one),
 * - `drop…@…` → the connection is cut at RCPT TO,
 * - anything else is accepted (after `dataDelayMs`, to widen races).
 * `failNext(n)` answers the next n messages 451 whatever the recipient.
 */
export class TestSmtpServer {
  readonly received: ReceivedMail[] = [];
  /** Delay before a message's data is accepted (ms). */
  dataDelayMs = 0;
  private failures = 0;
  private readonly sockets = new Set<Socket>();
  private server!: SMTPServer;
  port = 0;

  static async start(): Promise<TestSmtpServer> {
    const s = new TestSmtpServer();
    await s.listen();
    return s;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  failNext(n: number): void {
    this.failures = n;
  }

  /** Messages received with this Message-ID header. */
  withMessageId(id: string): ReceivedMail[] {
    return this.received.filter((m) => m.headers['message-id'] === id);
  }

  private async listen(): Promise<void> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onRcptTo: (address, session, callback) => {
        const to = address.address.toLowerCase();
        if (this.failures > 0) {
          this.failures--;
          return callback(smtpError('Try again later', 451));
        }
        if (to.startsWith('reject')) return callback(smtpError('No such mailbox', 550));
        if (to.startsWith('busy')) return callback(smtpError('Mailbox busy', 451));
        if (to.startsWith('drop')) {
          for (const sock of this.sockets) {
            if (sock.remotePort === session.remotePort) sock.destroy();
          }
          return;
        }
        callback();
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          setTimeout(() => {
            this.received.push(parse(raw, session));
            callback();
          }, this.dataDelayMs);
        });
      },
    });
    // The net.Server underneath: track sockets so `drop…` recipients can be cut off.
    const net = (this.server as unknown as { server: import('node:net').Server }).server;
    net.on('connection', (sock: Socket) => {
      this.sockets.add(sock);
      sock.on('close', () => this.sockets.delete(sock));
    });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (net.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function smtpError(message: string, code: number): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

function parse(
  raw: string,
  session: { envelope: { mailFrom: false | { address: string }; rcptTo: { address: string }[] } },
): ReceivedMail {
  const split = raw.indexOf('\r\n\r\n');
  const head = split >= 0 ? raw.slice(0, split) : raw;
  const body = split >= 0 ? raw.slice(split + 4) : '';
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    headers[name] ??= line.slice(i + 1).trim();
  }
  return {
    from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
    to: session.envelope.rcptTo.map((r) => r.address),
    headers,
    body,
    raw,
  };
}
