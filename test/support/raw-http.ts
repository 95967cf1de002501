import { connect, Socket } from 'node:net';

export interface RawResponse {
  /** 0 when the server closed the connection without answering. */
  status: number;
  headers: Record<string, string>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- asserted field by field
  json: any;
  /** The server closed the connection (or the timeout ran out: see `timedOut`). */
  closed: boolean;
  timedOut: boolean;
}

function parse(raw: Buffer): Pick<RawResponse, 'status' | 'headers' | 'text' | 'json'> {
  // Interim answers (`100 Continue` to `Expect: 100-continue`) precede the response itself.
  while (/^HTTP\/1\.[01] 1(?!01)\d\d /.test(raw.toString('latin1', 0, 13))) {
    const end = raw.indexOf('\r\n\r\n');
    if (end < 0) break;
    raw = raw.subarray(end + 4);
  }
  const s = raw.toString('latin1');
  const end = s.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, text: s, json: undefined };
  const [statusLine, ...lines] = s.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let body = raw.subarray(Buffer.byteLength(s.slice(0, end + 4), 'latin1'));
  if (headers['transfer-encoding'] === 'chunked') body = dechunk(body);
  const text = body.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, headers, text, json };
}

function dechunk(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  for (;;) {
    const nl = b.indexOf('\r\n', i);
    if (nl < 0) break;
    const size = parseInt(b.subarray(i, nl).toString(), 16);
    if (!size) break;
    out.push(b.subarray(nl + 2, nl + 2 + size));
    i = nl + 2 + size + 2;
  }
  return Buffer.concat(out);
}

/**
 * Writes raw bytes to the server (as a hostile or broken client would: anything Node's HTTP
 * client refuses to send) and reads until the server closes the connection, one response is
 * complete, or `timeoutMs` passes. `parts` are written one after another with `gapMs` between
 * them; the last part may be left unfinished to stall. `untilClose` keeps reading after a
 * complete response until the server closes the connection (or the timeout).
 */
export function rawRequest(
  baseUrl: string,
  parts: (string | Buffer)[] | string | Buffer,
  o: { timeoutMs?: number; gapMs?: number; untilClose?: boolean } = {},
): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const list = Array.isArray(parts) ? parts : [parts];
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const sock: Socket = connect(Number(url.port), url.hostname);
    const finish = (closed: boolean, timedOut: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ ...parse(Buffer.concat(chunks)), closed, timedOut });
    };
    const timer = setTimeout(() => finish(false, true), o.timeoutMs ?? 10_000);
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      const r = parse(Buffer.concat(chunks));
      const length = Number(r.headers['content-length']);
      if (
        !o.untilClose &&
        r.status &&
        Number.isFinite(length) &&
        Buffer.byteLength(r.text) >= length
      ) {
        // A complete response; keep reading briefly only to learn whether the server closes.
        setTimeout(() => finish(sock.destroyed || sock.readableEnded, false), 50);
      }
    });
    sock.on('end', () => finish(true, false));
    sock.on('close', () => finish(true, false));
    sock.on('error', () => finish(true, false));
    sock.on('connect', () => {
      void (async () => {
        for (const [i, p] of list.entries()) {
          if (i > 0 && o.gapMs) await new Promise((r) => setTimeout(r, o.gapMs));
          if (!sock.destroyed) sock.write(p);
        }
      })();
    });
  });
}
