/**
 * Load generators and measurement helpers of the cache benchmark. Everything targets
 * 127.0.0.1 only, and every loop is bounded in count and in time.
 */
import autocannon from 'autocannon';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { percentile, sleep } from '../lib/util';

export function assertLoopback(url: string): void {
  const u = new URL(url);
  if (u.hostname !== '127.0.0.1')
    throw new Error(`benchmark traffic goes to 127.0.0.1 only: ${url}`);
}

// --- closed-loop throughput (autocannon) -------------------------------------------------

export interface ThroughputResult {
  reqPerSec: number;
  p99Ms: number;
  total: number;
  non2xx: number;
  errors: number;
}

/** Max-throughput run: `connections` keep-alive connections, pipelining 1, for `durationS`. */
export async function throughput(
  url: string,
  connections: number,
  durationS: number,
): Promise<ThroughputResult> {
  assertLoopback(url);
  const r = await autocannon({ url, connections, duration: durationS, pipelining: 1, timeout: 10 });
  return {
    reqPerSec: r.requests.average,
    p99Ms: r.latency.p99,
    total: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
  };
}

// --- open-loop requests with per-request samples -----------------------------------------

export interface Sample {
  /** when the request was due (ms since the run started) */
  dueMs: number;
  /** completion or failure time minus due time (includes waiting for a free connection) */
  latencyMs: number;
  /** HTTP status, or 0 for an error (timeout, reset, refused) */
  status: number;
}

function oneRequest(
  url: string,
  agent: Agent | false,
  dueAbs: number,
  timeoutMs: number,
  runStart: number,
): Promise<Sample> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (status: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ dueMs: dueAbs - runStart, latencyMs: performance.now() - dueAbs, status });
    };
    const req = request(url, { agent, method: 'GET' }, (res) => {
      res.resume();
      res.once('end', () => finish(res.statusCode ?? 0));
      res.once('error', () => finish(0));
    });
    req.once('error', () => finish(0));
    const timer = setTimeout(() => {
      finish(0);
      req.destroy(new Error('timeout'));
    }, timeoutMs);
    req.end();
  });
}

export interface SteadyOptions {
  url: string;
  /** requests per second, sent evenly spaced (open loop) */
  rate: number;
  durationMs: number;
  /** at most this many connections; a request due while all are busy waits (and that counts) */
  connections: number;
  /** a request not answered this long after it was due counts as an error */
  timeoutMs: number;
  /** called once, `atMs` after the start (used to stop Redis mid-run) */
  at?: { atMs: number; run: () => Promise<void> };
}

/**
 * Steady open-loop load: request i is due at start + i/rate, latency is measured from the due
 * time (so a stall is not hidden by the load generator slowing down). Bounded: exactly
 * rate × duration requests, each settled within `timeoutMs`.
 */
export async function steadyLoad(
  o: SteadyOptions,
): Promise<{ samples: Sample[]; startedAt: number; atAbs?: number }> {
  assertLoopback(o.url);
  const agent = new Agent({ keepAlive: true, maxSockets: o.connections });
  const total = Math.max(1, Math.round((o.rate * o.durationMs) / 1000));
  const interval = 1000 / o.rate;
  const pending: Promise<Sample>[] = [];
  const start = performance.now();
  let atAbs: number | undefined;
  let atPromise: Promise<void> | undefined;
  let i = 0;
  const hardStop = start + o.durationMs + 5_000;
  while (i < total && performance.now() < hardStop) {
    const now = performance.now();
    if (o.at && atPromise === undefined && now - start >= o.at.atMs) {
      atAbs = now;
      atPromise = o.at.run();
    }
    while (i < total && start + i * interval <= now) {
      pending.push(oneRequest(o.url, agent, start + i * interval, o.timeoutMs, start));
      i++;
    }
    await sleep(Math.min(5, Math.max(1, start + i * interval - performance.now())));
  }
  const samples = await Promise.all(pending);
  if (atPromise) await atPromise;
  agent.destroy();
  return { samples, startedAt: start, atAbs: atAbs === undefined ? undefined : atAbs - start };
}

/** `count` requests fired at once, each on its own connection (a cold-key burst). */
export async function burst(url: string, count: number, timeoutMs: number): Promise<Sample[]> {
  assertLoopback(url);
  const agent = new Agent({ keepAlive: false, maxSockets: count });
  const start = performance.now();
  const samples = await Promise.all(
    Array.from({ length: count }, () => oneRequest(url, agent, start, timeoutMs, start)),
  );
  agent.destroy();
  return samples;
}

export function summarize(samples: Sample[]): {
  total: number;
  ok: number;
  failed: number;
  p99Ms: number;
  maxMs: number;
} {
  const ok = samples.filter((s) => s.status >= 200 && s.status < 300);
  return {
    total: samples.length,
    ok: ok.length,
    failed: samples.length - ok.length,
    p99Ms: percentile(
      ok.map((s) => s.latencyMs),
      99,
    ),
    maxMs: Math.max(0, ...samples.map((s) => s.latencyMs)),
  };
}

// --- small HTTP helpers ------------------------------------------------------------------

export async function getJson<T>(url: string, method = 'GET'): Promise<T> {
  assertLoopback(url);
  const res = await fetch(url, { method, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${method} ${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/** Requests `url` until it answers with `X-Cache: HIT` (or just 200 when `expectHit` is false). */
export async function warmKey(url: string, expectHit: boolean): Promise<void> {
  assertLoopback(url);
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      if (res.ok && (!expectHit || res.headers.get('x-cache') === 'HIT')) return;
    } catch {
      // not up yet
    }
    await sleep(50);
  }
  throw new Error(`could not warm ${url}`);
}
