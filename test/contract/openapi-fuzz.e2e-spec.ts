import { describeOnPlatforms } from '../support/platforms';
import { ApiContract } from '../support/openapi';
import { rawRequest, RawResponse } from '../support/raw-http';
import { buildFuzzCases, FuzzCase, FUZZ_SEED } from './fuzz-cases';

/**
 * A fuzz suite generated from the OpenAPI document (see fuzz-cases.ts), on both platforms:
 * thousands of hostile requests, sent as raw bytes with bounded concurrency and a per-request
 * timeout. No answer may be a 5xx, no request may hang or go unanswered, every 4xx is JSON
 * with the documented error body, and a request that reaches its route (only a value varies)
 * gets a status, body and headers the document gives for that operation.
 */

const CONCURRENCY = 8;
const REQUEST_TIMEOUT_MS = 10_000;
const MIN_CASES = 1500;

async function pool<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

function problemsOf(contract: ApiContract, c: FuzzCase, res: RawResponse): string[] {
  if (res.timedOut) return [`hang: no answer within ${REQUEST_TIMEOUT_MS} ms`];
  if (res.status === 0) return ['the connection closed without an answer'];
  if (res.status >= 500) return [`${res.status}: ${res.text.slice(0, 200)}`];
  const problems: string[] = [];
  if (res.status >= 400 && !c.head) {
    if (!/^application\/json\b/.test(res.headers['content-type'] ?? ''))
      problems.push(
        `${res.status} with content-type ${res.headers['content-type']}: ${res.text.slice(0, 100)}`,
      );
    else {
      const err = contract.validate(contract.errorSchema, res.json, true);
      if (err || res.json?.statusCode !== res.status)
        problems.push(
          `${res.status} error body ${err ?? `statusCode ${res.json?.statusCode}`}: ${res.text.slice(0, 200)}`,
        );
    }
  }
  if (c.routed && !c.head) {
    problems.push(
      ...contract.check(c.op, { status: res.status, headers: res.headers, text: res.text }),
    );
  }
  return problems;
}

// X-Forwarded-For is read only behind a trusted proxy: trust one hop, so the fuzz reaches it.
describeOnPlatforms('OpenAPI fuzz', { env: { TRUST_PROXY: '1' } }, (t, platform) => {
  let contract: ApiContract;
  beforeAll(async () => {
    contract = await ApiContract.load(t.url);
  });

  it(`answers ≥ ${MIN_CASES} generated hostile requests with no 5xx, no hang, and documented JSON errors (seed ${FUZZ_SEED})`, async () => {
    const cases = buildFuzzCases(contract, t.config.bodyLimitBytes);
    expect(cases.length).toBeGreaterThanOrEqual(MIN_CASES);
    expect(new Set(cases.map((c) => c.op.id)).size).toBe(contract.operations.length);

    const started = Date.now();
    const results = await pool(cases, CONCURRENCY, async (c) => {
      const res = await rawRequest(t.url, c.bytes, { timeoutMs: REQUEST_TIMEOUT_MS });
      return { c, res, problems: problemsOf(contract, c, res) };
    });
    const statuses: Record<number, number> = {};
    for (const { res } of results) statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    console.log(
      `${platform}: ${cases.length} fuzz cases in ${((Date.now() - started) / 1000).toFixed(1)} s; statuses ${JSON.stringify(statuses)}`,
    );

    const failures = results
      .filter((r) => r.problems.length > 0)
      .map((r) => `${r.c.name}: ${r.problems.join('; ')}`);
    expect(failures).toEqual([]);
  }, 600_000);
});
