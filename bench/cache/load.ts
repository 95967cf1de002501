/**
 * Load generators and measurement helpers of the cache benchmark. Everything targets
 * 127.0.0.1 only, and every loop is bounded in count and in time.
 */
import autocannon from 'autocannon';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';

export function assertLoopback(url: string): void {
  const u = new URL(url);
  if (u.hostname !== '127.0.0.1')
    throw new Error(`benchmark traffic goes to 127.0.0.1 only: ${url}`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
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

// --- Redis server cost -------------------------------------------------------------------

export interface RedisSnapshot {
  /** calls per command (commandstats; includes commands run inside Lua scripts), INFO excluded */
  calls: Map<string, number>;
  cpuMs: number;
}

export async function redisSnapshot(client: Redis): Promise<RedisSnapshot> {
  const text = await client.info('commandstats');
  const cpuText = await client.info('cpu');
  const calls = new Map<string, number>();
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (m[1] === 'info') continue;
    calls.set(m[1], Number(m[2]));
  }
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpuText)?.[1]);
  return { calls, cpuMs: (field('used_cpu_user') + field('used_cpu_sys')) * 1000 };
}

export function redisDelta(
  before: RedisSnapshot,
  after: RedisSnapshot,
): { commands: number; cpuMs: number; byCommand: Map<string, number> } {
  const byCommand = new Map<string, number>();
  let commands = 0;
  for (const [cmd, n] of after.calls) {
    const d = n - (before.calls.get(cmd) ?? 0);
    if (d > 0) {
      byCommand.set(cmd, d);
      commands += d;
    }
  }
  return { commands, cpuMs: after.cpuMs - before.cpuMs, byCommand };
}
