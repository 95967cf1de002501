import * as fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import type { Scheme } from '../support/credentials';
import type { ApiContract, Operation } from '../support/openapi';
import {
  exampleBody,
  exampleHeaders,
  examplePath,
  exampleQuery,
  pathParams,
  queryParams,
  securityOf,
} from './requests';

/**
 * Hostile requests generated from the OpenAPI document: for every operation, every path
 * parameter, query parameter, header the app reads and body field gets wrong types, bounds,
 * encodings, Unicode edge cases, nesting, duplicate keys and oversized parts; whole bodies get
 * malformed JSON, invalid UTF-8, odd Content-Type and Content-Encoding, sizes around the limit.
 * Requests are raw bytes (sent over a socket), so nothing a client library would normalise or
 * refuse (dot segments, invalid UTF-8, duplicate headers) is lost. Deterministic: fixed lists
 * plus fast-check samples from a fixed seed.
 *
 * Every case of an operation whose document entry has a security requirement comes twice:
 * anonymous, and with a credential of one of its schemes (in turn), which the suite adds when it
 * sends the case (a login is live state, see {@link withHeaders}). Valid values that are live
 * state too (a refresh token, a session id) are written as same-length slots the suite fills in.
 */

export interface FuzzCase {
  name: string;
  op: Operation;
  /** The request, as bytes on the wire. */
  bytes: Buffer;
  /**
   * The request reaches the operation's route as a well-formed HTTP request (only a value
   * varies), so its answer must be one the document gives for that operation.
   */
  routed: boolean;
  /** HEAD answers have no body. */
  head?: boolean;
  /** Send it with a credential of this scheme (added by the suite); absent: anonymous. */
  scheme?: Scheme;
}

/**
 * Valid values that are live state rather than documented examples, by operation id: the body
 * or path values the cases of that operation start from (instead of the document's examples).
 */
export type LiveExamples = Record<
  string,
  { body?: Record<string, unknown>; path?: Record<string, string> }
>;

export const FUZZ_SEED = 20_261_201;

type HeaderLine = [string, string | Buffer];

interface Parts {
  method: string;
  /** The request target exactly as written on the request line. */
  target: string;
  headers: HeaderLine[];
  body?: Buffer;
  /** Leave out Content-Length (chunked bodies set Transfer-Encoding themselves). */
  noLength?: boolean;
}

/** One HTTP/1.1 request; `Connection: close` so the answer ends with the connection. */
export function wire(p: Parts): Buffer {
  const lines: (string | Buffer)[] = [
    `${p.method} ${p.target} HTTP/1.1\r\n`,
    'Host: 127.0.0.1\r\n',
  ];
  for (const [name, value] of p.headers) lines.push(`${name}: `, value, '\r\n');
  if (p.body !== undefined && !p.noLength) lines.push(`Content-Length: ${p.body.length}\r\n`);
  lines.push('Connection: close\r\n\r\n');
  if (p.body !== undefined) lines.push(p.body);
  return Buffer.concat(lines.map((l) => (typeof l === 'string' ? Buffer.from(l, 'latin1') : l)));
}

const enc = encodeURIComponent;
const short = (s: string, n = 32) => {
  const printable = JSON.stringify(s);
  return printable.length > n ? `${printable.slice(0, n)}…(${s.length})` : printable;
};

/** Path segments as written on the request line (already encoded where they need it). */
// prettier-ignore
const PATH_JUNK: string[] = [
  // numbers that are not ids
  '0', '-1', '00', '01', '2147483648', '4294967296', '9007199254740993', '9'.repeat(40), '1.5',
  '1e3', '1E3', '0x1F', '0b1', '0o7', '%201', '1%20', '+1', '%2B1', '-0', '1_000',
  'NaN', 'Infinity', '-Infinity', 'null', 'undefined', 'true', '%5B%5D', '%7B%7D',
  // digits that are not ASCII
  enc('１'), enc('١'), enc('Ⅰ'), enc('𝟏'),
  // traversal and separators, encoded so the path keeps its segments
  '%2e%2e', '%2E', '%2F', 'a%2Fb', '%5C', '..%2F..%2Fetc%2Fpasswd', '%3F', '%23', '%253F',
  ';', ';a=1', ',', '~', '*', "'", '!', '$', '&', '=', '@', ':', '(', ')',
  // control characters and NUL
  '%00', 'a%00b', '%0A', '%0D%0A', '%09', '%7F', '%1B%5B31m',
  // percent-encodings that are not UTF-8
  '%', '%G1', '%E0%A4%A', '%FF', '%C0%AF', '%ED%A0%80', '%F4%90%80%80', '%F8%88%80%80%80',
  '%EF%BB%BF1',
  // Unicode edge cases
  enc('\u202e'), enc('\u200b'), enc('😀'), enc('é'), enc('e\u0301'), enc('Ａ'), enc('ß'),
  enc('İ'), enc('\ufffd'), enc('\u2028'),
  // lengths, up to over Fastify's maxParamLength (8192) yet under Node's 16 KB header limit
  'a'.repeat(65), 'a'.repeat(1000), 'a'.repeat(5000), '1'.repeat(5000), enc('é'.repeat(1000)),
  'a'.repeat(9000), '9'.repeat(9000),
  // names that mean something to JavaScript or to a shell
  '__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', enc('${jndi:ldap://x}'),
  enc("1' OR '1'='1"), enc('<script>alert(1)</script>'), enc('$(reboot)'),
  // case and shape
  'A', 'ADA', 'a.b', 'a-b', '-a', '_a', 'a@b',
];

/** Segments that change the route instead of the value (dot segments, an empty segment). */
const PATH_RESHAPES: string[] = ['..', '.', '', '%2e%2e/%2e%2e', '../../..', 'a/b'];

/** JSON texts for one field (raw, so lone surrogates, 1e309 and big integers survive). */
// prettier-ignore
const VALUE_JUNK: string[] = [
  'null', 'true', 'false', '0', '-0', '-1', '1', '1.5', '2147483647', '2147483648', '-2147483649',
  '9007199254740993', '1e308', '-1e308', '1e309', '-1e309', '5e-324', '1e-400', '0.1e1',
  '"1"', '"1.0"', '"NaN"', '"Infinity"', '"-0"', '"0x10"', '""', '" "', '"\\t\\n"',
  '"\\u0000"', '"a\\u0000b"', '"\\u0001\\u001f\\u007f"', '"\\ud800"', '"\\udfff"',
  '"a\\ud800b@example.com"', '"\\u202eevil"', '"\\u200b"', '"\\ufeff"', `"${'😀'.repeat(50)}"`,
  '"e\\u0301"', '"ｅｍａｉｌ@example.com"', `"${'a'.repeat(65)}"`, `"${'a'.repeat(101)}"`,
  `"${'a'.repeat(201)}"`, `"${'a'.repeat(255)}@example.com"`, `"${'a'.repeat(10_001)}"`,
  `"${'a'.repeat(20_000)}"`, '"x@y"', '"a@b.c"', '"@"', '"a@"', '"ü@example.com"',
  '"\\"a b\\"@example.com"', '"a@xn--tda.com"', '"a@ü.com"',
  '"<script>alert(1)</script>"', `"' OR 1=1 --"`, '"${7*7}"', '"../../etc/passwd"',
  '[]', '[1]', '[[[]]]', '{}', '{"a":1}', '{"$gt":""}', '{"__proto__":{"x":1}}',
  `${'['.repeat(31)}${']'.repeat(31)}`, `${'['.repeat(33)}${']'.repeat(33)}`,
  `${'{"a":'.repeat(33)}1${'}'.repeat(33)}`, `[${'1,'.repeat(5000)}1]`,
];

// prettier-ignore
const QUERY_JUNK = (name: string): string[] => [
  `${name}=`, name, `${name}=0`, `${name}=-1`, `${name}=101`, `${name}=1.5`, `${name}=1e2`,
  `${name}=%2010`, `${name}=010`, `${name}=abc`, `${name}=1&${name}=2`, `${name}[]=1`,
  `${name}[0]=1`, `${name}[a]=1`, `${name}=%00`, `${name}=10%00`, `${name}=${'9'.repeat(10_000)}`,
  `${name}=${enc('１０')}`, `${name}=%FF`, `${name}=%E0%A4%A`, `${name}=2024-02-30`,
  `${name}=2024-2-1`, `${name}=20240229`, `${name}=2024-02-29T00:00:00Z`, `${name}=+2024-02-29`,
  `${name}=9999-12-31`, `${name}=0000-01-01`, `${name}=${enc('２０２４-02-29')}`,
];

// prettier-ignore
const QUERY_ANYWHERE: string[] = [
  'x=1', '%ZZ=1', 'a=%ZZ', '__proto__[polluted]=1', 'constructor[prototype][polluted]=1',
  'a[b][c][d][e][f][g][h][i][j][k]=1', 'a=1&'.repeat(1500) + 'a=1', `a=${'x'.repeat(8000)}`,
  '&&&', '=', 'a==', 'a=%00', `${enc('😀')}=${enc('\u202e')}`,
];

const utf8 = (s: string) => Buffer.from(s, 'utf8');

/** Values of headers the app reads; Buffers carry bytes that are not Latin-1 text. */
// prettier-ignore
const HEADER_JUNK: (string | Buffer)[] = [
  '', ' ', 'x'.repeat(129), 'x'.repeat(8000), 'bad id', '../../etc/passwd', 'a,b', '"quoted"',
  utf8('é'), utf8('😀'), utf8('\u202e'), Buffer.from([0xff, 0xfe]), Buffer.from([0xc0, 0xaf]),
  '%00', '\t', 'null',
];

// prettier-ignore
const FORWARDED_JUNK: string[] = [
  'unknown', '999.999.999.999', '::1', '1.2.3.4, 5.6.7.8', ', , ,', '[::1]:80', '1.2.3.4:99999',
  'x'.repeat(8000), Array.from({ length: 500 }, (_, i) => `10.0.${i % 250}.${i % 200}`).join(', '),
  '127.0.0.1\u0000', '0.0.0.0', '::ffff:127.0.0.1', 'fe80::1%eth0',
];

const CREDENTIAL_JUNK: HeaderLine[] = [
  ['Authorization', 'Bearer x'],
  ['Authorization', 'Basic ' + 'A'.repeat(8000)],
  ['Authorization', ''],
  ['Authorization', utf8('Bearer 😀')],
  ['Cookie', 'a=1; a=2; ' + 'b=x; '.repeat(500)],
  ['Cookie', '=; ;;'],
  ['Cookie', utf8('session=é')],
];

/** Body-level Content-Type and Content-Encoding variants (valid JSON body). */
// prettier-ignore
const CONTENT_TYPES: string[] = [
  'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
  'application/json; charset=utf-16', 'application/json; charset=iso-8859-1',
  'application/json; charset=', 'application/json; charset="utf-8"', 'APPLICATION/JSON',
  'application/vnd.api+json', 'application/jsonx', 'application/json, text/plain', '',
  'application/json;;;', '*/*', 'application/json; charset=utf-8; charset=utf-16',
  'x'.repeat(4000),
];

// prettier-ignore
const CONTENT_ENCODINGS: string[] = [
  'gzip', 'br', 'deflate', 'identity', 'gzip, identity', 'x'.repeat(1000), 'IDENTITY', 'compress',
];

const METHODS = ['PUT', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND', 'get', 'GETT'];

/** `bytes` (one request, as {@link wire} writes it) with these headers added after the request line. */
export function withHeaders(bytes: Buffer, headers: Record<string, string>): Buffer {
  const eol = bytes.indexOf('\r\n');
  const lines = Object.entries(headers).map(([n, v]) => `${n}: ${v}\r\n`);
  return Buffer.concat([
    bytes.subarray(0, eol + 2),
    Buffer.from(lines.join(''), 'latin1'),
    bytes.subarray(eol + 2),
  ]);
}

/** `bytes` with every occurrence of `slot` overwritten by `value`, which must be as long. */
export function fillSlot(bytes: Buffer, slot: string, value: string): Buffer {
  if (Buffer.byteLength(value) !== Buffer.byteLength(slot))
    throw new Error(`"${value}" does not fit the slot "${slot}" (lengths differ)`);
  const out = Buffer.from(bytes);
  for (let i = out.indexOf(slot); i >= 0; i = out.indexOf(slot, i + 1)) out.write(value, i);
  return out;
}

export function buildFuzzCases(
  contract: ApiContract,
  bodyLimit: number,
  live: LiveExamples = {},
): FuzzCase[] {
  const cases: FuzzCase[] = [];
  for (const op of contract.operations) {
    const path = { ...examplePath(op), ...live[op.id]?.path };
    const body = live[op.id]?.body ?? exampleBody(op);
    const base = baseParts(op, path, body);
    const { schemes } = securityOf(op);
    let turn = 0;
    const add = (
      name: string,
      parts: Partial<Parts>,
      routed: boolean,
      o: { anonymousOnly?: boolean } = {},
    ) => {
      const p = { ...base, ...parts };
      const c = {
        name: `${op.id} · ${name}`,
        op,
        bytes: wire(p),
        routed,
        head: p.method === 'HEAD',
      };
      cases.push(c);
      if (schemes.length > 0 && !o.anonymousOnly) {
        const scheme = schemes[turn++ % schemes.length];
        cases.push({ ...c, name: `${c.name} · with ${scheme}`, scheme });
      }
    };
    const withPath = (name: string, value: string) =>
      op.path.replace(/\{([^}]+)\}/g, (_, n: string) => (n === name ? value : enc(path[n])));
    const query = exampleQuery(op);
    const examplePathOnly = withPath('', '');
    const queryString = (q: [string, string][]) =>
      q.length ? `?${q.map((kv) => kv.join('=')).join('&')}` : '';

    // Path parameters.
    for (const p of pathParams(op)) {
      for (const v of PATH_JUNK)
        add(
          `path ${p.name} ${short(v)}`,
          { target: withPath(p.name, v) + queryString(query) },
          true,
        );
      for (const v of PATH_RESHAPES)
        add(`path ${p.name} reshaped ${short(v)}`, { target: withPath(p.name, v) }, false);
      const random = fc.sample(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), {
        seed: FUZZ_SEED + cases.length,
        numRuns: 8,
      });
      for (const v of random)
        add(
          `path ${p.name} random ${short(v)}`,
          { target: withPath(p.name, enc(v.toWellFormed())) },
          true,
        );
    }

    // Query parameters: the documented ones, and any on every operation.
    for (const q of queryParams(op)) {
      for (const v of QUERY_JUNK(q.name)) {
        const rest = query.filter(([k]) => k !== q.name).map((kv) => kv.join('='));
        add(`query ${short(v)}`, { target: `${examplePathOnly}?${[...rest, v].join('&')}` }, true);
      }
    }
    for (const v of QUERY_ANYWHERE) {
      const rest = query.map((kv) => kv.join('='));
      add(
        `extra query ${short(v)}`,
        { target: `${examplePathOnly}?${[...rest, v].join('&')}` },
        true,
      );
    }

    // Headers the app reads: X-Request-Id everywhere, X-Visitor-Id where documented,
    // credentials (cache scope) and X-Forwarded-For (client identity, with TRUST_PROXY).
    for (const v of HEADER_JUNK) {
      add(
        `X-Request-Id ${short(v.toString())}`,
        { headers: replaceHeader(base.headers, 'X-Request-Id', v) },
        true,
      );
    }
    add('X-Request-Id twice', { headers: [...base.headers, ['X-Request-Id', 'second']] }, true);
    if (op.parameters.some((p) => p.name === 'X-Visitor-Id')) {
      for (const v of [...HEADER_JUNK, 'a:b', 'v'.repeat(128)]) {
        add(
          `X-Visitor-Id ${short(v.toString())}`,
          { headers: replaceHeader(base.headers, 'X-Visitor-Id', v) },
          true,
        );
      }
      add('X-Visitor-Id twice', { headers: [...base.headers, ['X-Visitor-Id', 'other']] }, true);
    }
    for (const v of FORWARDED_JUNK) {
      // A NUL in a header value is refused by Node's parser before any route.
      add(
        `X-Forwarded-For ${short(v)}`,
        { headers: [...base.headers, ['X-Forwarded-For', v]] },
        !v.includes('\u0000'),
      );
    }
    if (op.method === 'GET') {
      // Credentials of its own: sent anonymous only (the malformed-credentials suite has more).
      for (const [name, v] of CREDENTIAL_JUNK) {
        add(`${name} ${short(v.toString())}`, { headers: [...base.headers, [name, v]] }, true, {
          anonymousOnly: true,
        });
      }
      add('Accept: text/html', { headers: [...base.headers, ['Accept', 'text/html']] }, true);
      add(
        'Accept-Encoding: gzip',
        { headers: [...base.headers, ['Accept-Encoding', 'gzip, br']] },
        true,
      );
    }

    // Other methods on the same path.
    for (const m of METHODS.filter((m) => m !== op.method))
      add(`method ${m}`, { method: m }, false);
    add('trailing slash', { target: base.target.replace(/(\?|$)/, '/$1') }, false);
    add('extra segment', { target: base.target.replace(/(\?|$)/, '/extra$1') }, false);
    add('double slash', { target: base.target.replace(/^\//, '//') }, false);

    if (op.body) addBodyCases(op, base, body!, bodyLimit, add);
    else {
      // A body the operation does not read: ignored on GET, held to the JSON body contract
      // (400, 413, 415) on POST and DELETE.
      const bodies: [string, string, Buffer][] = [
        ['a JSON body', 'application/json', utf8('{"a":1}')],
        ['a malformed JSON body', 'application/json', utf8('{"a":')],
        ['a text/plain body', 'text/plain', utf8('hello')],
        ['a gzip-encoded body', 'application/json', gzipSync('{}')],
        ['a body over the limit', 'application/json', Buffer.alloc(bodyLimit + 1, 0x20)],
        ['a text body over the limit', 'text/plain', Buffer.alloc(bodyLimit * 2, 0x61)],
      ];
      for (const [name, type, body] of bodies) {
        const headers: HeaderLine[] = [...base.headers, ['Content-Type', type]];
        if (name.includes('gzip')) headers.push(['Content-Encoding', 'gzip']);
        add(`unread body: ${name}`, { headers, body }, true);
      }
    }
  }
  return cases;
}

function replaceHeader(headers: HeaderLine[], name: string, value: string | Buffer): HeaderLine[] {
  return [...headers.filter(([n]) => n.toLowerCase() !== name.toLowerCase()), [name, value]];
}

function baseParts(
  op: Operation,
  path: Record<string, string>,
  body: Record<string, unknown> | undefined,
): Parts {
  const target =
    op.path.replace(/\{([^}]+)\}/g, (_, n: string) => enc(path[n])) +
    (exampleQuery(op).length
      ? `?${exampleQuery(op)
          .map((kv) => kv.join('='))
          .join('&')}`
      : '');
  const headers: HeaderLine[] = Object.entries(exampleHeaders(op));
  if (body !== undefined) headers.push(['Content-Type', 'application/json']);
  return {
    method: op.method,
    target,
    headers,
    body: body === undefined ? undefined : utf8(JSON.stringify(body)),
  };
}

function addBodyCases(
  op: Operation,
  base: Parts,
  example: Record<string, unknown>,
  bodyLimit: number,
  add: (name: string, parts: Partial<Parts>, routed: boolean) => void,
): void {
  const fields = Object.keys(op.body!.properties ?? {});
  /** The example body with `field` set to a raw JSON text. */
  const withRaw = (field: string, raw: string) => {
    const others = Object.entries(example)
      .filter(([k]) => k !== field)
      .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    return utf8(`{${[...others, `${JSON.stringify(field)}:${raw}`].join(',')}}`);
  };
  const json = (value: unknown) => utf8(JSON.stringify(value));

  for (const field of fields) {
    for (const raw of VALUE_JUNK)
      add(`body ${field}=${short(raw)}`, { body: withRaw(field, raw) }, true);
    const { [field]: _gone, ...rest } = example;
    add(`body without ${field}`, { body: json(rest) }, true);
    add(
      `body ${field} twice (last wins)`,
      { body: utf8(`${json(example).toString().slice(0, -1)},${JSON.stringify(field)}:"dup"}`) },
      true,
    );
    const random = fc.sample(fc.jsonValue({ maxDepth: 4 }), {
      seed: FUZZ_SEED + field.length,
      numRuns: 6,
    });
    for (const v of random)
      add(
        `body ${field} random ${short(JSON.stringify(v) ?? 'undefined')}`,
        { body: withRaw(field, JSON.stringify(v) ?? 'null') },
        true,
      );
  }

  const wholes: [string, string | Buffer][] = [
    ['{}', '{}'],
    ['null', 'null'],
    ['true', 'true'],
    ['1', '1'],
    ['"str"', '"str"'],
    ['[]', '[]'],
    ['[example]', `[${json(example).toString()}]`],
    ['an extra field', json({ ...example, extra: 1 })],
    [
      '1,000 extra fields',
      json({
        ...example,
        ...Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i])),
      }),
    ],
    ['a __proto__ key', `{"__proto__":{"admin":true},${json(example).toString().slice(1)}`],
    [
      'a constructor key',
      `{"constructor":{"prototype":{"admin":true}},${json(example).toString().slice(1)}`,
    ],
    ['a nested __proto__', `{"x":{"y":{"__proto__":{}}},${json(example).toString().slice(1)}`],
    ['a prototype key', `{"prototype":1,${json(example).toString().slice(1)}`],
    ['malformed {', '{'],
    ['a trailing comma', `${json(example).toString().slice(0, -1)},}`],
    ['single quotes', `{'a':1}`],
    ['trailing garbage', `${json(example).toString()}garbage`],
    ['two documents', `${json(example).toString()}{"b":2}`],
    ['NaN literal', '{"score":NaN}'],
    ['a comment', `/* c */${json(example).toString()}`],
    ['a BOM (accepted)', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json(example)])],
    ['only whitespace', ' \r\n\t '],
    ['a NUL byte after the JSON', Buffer.concat([json(example), Buffer.from([0])])],
    ['invalid UTF-8 FF FE', Buffer.concat([utf8('{"a":"'), Buffer.from([0xff, 0xfe]), utf8('"}')])],
    [
      'overlong UTF-8 C0 AF',
      Buffer.concat([utf8('{"a":"'), Buffer.from([0xc0, 0xaf]), utf8('"}')]),
    ],
    [
      'UTF-8 of a surrogate ED A0 80',
      Buffer.concat([utf8('{"a":"'), Buffer.from([0xed, 0xa0, 0x80]), utf8('"}')]),
    ],
    ['truncated UTF-8', Buffer.concat([utf8('{"a":"'), Buffer.from([0xe2, 0x82]), utf8('"}')])],
    ['UTF-16 bytes', Buffer.from(JSON.stringify(example), 'utf16le')],
    [
      'nested 32 deep (within the limit)',
      `{"x":${'['.repeat(31)}${']'.repeat(31)},${json(example).toString().slice(1)}`,
    ],
    [
      'nested 33 deep',
      `{"x":${'['.repeat(33)}${']'.repeat(33)},${json(example).toString().slice(1)}`,
    ],
    ['nested 10,000 deep', `${'['.repeat(10_000)}${']'.repeat(10_000)}`],
    [
      'a 5,000-element array field',
      `{"x":[${'1,'.repeat(4999)}1],${json(example).toString().slice(1)}`,
    ],
  ];
  for (const [name, body] of wholes)
    add(`whole body ${name}`, { body: typeof body === 'string' ? utf8(body) : body }, true);

  // Sizes around the limit: a JSON body just under it (refused for its field, not its size),
  // exactly at it, one byte over it, and far over it.
  const padded = (size: number) => {
    const head = `{"pad":"`;
    return utf8(head + 'x'.repeat(size - head.length - 2) + '"}');
  };
  add('body 100 bytes under the limit', { body: padded(bodyLimit - 100) }, true);
  add('body exactly at the limit', { body: padded(bodyLimit) }, true);
  add('body one byte over the limit', { body: padded(bodyLimit + 1) }, true);
  add('body twice the limit', { body: padded(bodyLimit * 2) }, true);
  add(
    'body over the limit as text/plain',
    {
      body: padded(bodyLimit + 1),
      headers: replaceHeader(base.headers, 'Content-Type', 'text/plain'),
    },
    true,
  );

  // Framing: chunked bodies, an empty body, Expect: 100-continue.
  const chunked = (chunks: Buffer[]) =>
    Buffer.concat([
      ...chunks.flatMap((c) => [utf8(`${c.length.toString(16)}\r\n`), c, utf8('\r\n')]),
      utf8('0\r\n\r\n'),
    ]);
  const te: HeaderLine = ['Transfer-Encoding', 'chunked'];
  add(
    'chunked body',
    {
      headers: [...base.headers, te],
      body: chunked([base.body!.subarray(0, 3), base.body!.subarray(3)]),
      noLength: true,
    },
    true,
  );
  add(
    'chunked body over the limit',
    {
      headers: [...base.headers, te],
      body: chunked(Array.from({ length: 30 }, () => Buffer.alloc(bodyLimit / 10, 0x20))),
      noLength: true,
    },
    true,
  );
  add('empty body with a JSON content type', { body: Buffer.alloc(0) }, true);
  add('no body at all', { body: undefined }, true);
  add('Expect: 100-continue', { headers: [...base.headers, ['Expect', '100-continue']] }, true);

  // Content-Type and Content-Encoding.
  for (const ct of CONTENT_TYPES)
    add(
      `Content-Type ${short(ct)}`,
      { headers: replaceHeader(base.headers, 'Content-Type', ct) },
      true,
    );
  add('no Content-Type', { headers: base.headers.filter(([n]) => n !== 'Content-Type') }, true);
  add('Content-Type twice', { headers: [...base.headers, ['Content-Type', 'text/plain']] }, true);
  for (const ce of CONTENT_ENCODINGS)
    add(
      `Content-Encoding ${short(ce)}`,
      { headers: [...base.headers, ['Content-Encoding', ce]] },
      true,
    );
  add(
    'a really gzipped body',
    { headers: [...base.headers, ['Content-Encoding', 'gzip']], body: gzipSync(base.body!) },
    true,
  );
  add(
    'a gzip bomb',
    {
      headers: [...base.headers, ['Content-Encoding', 'gzip']],
      body: gzipSync(Buffer.alloc(10_000_000, 0x20)),
    },
    true,
  );
}
