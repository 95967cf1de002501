/**
 * Paired measurement in one server process, for differences smaller than this shared machine's
 * run-to-run spread (a few per cent): instead of one server process per variant, one server
 * serves every state (a switch flipped between blocks, or the same server's other route), in
 * short blocks, round after round, the order rotated each round. Each state is compared with
 * the reference state of the same round, so JIT state, heap, Redis and the machine's load at
 * that moment are shared by both sides of a ratio; the median and quartiles of the per-round
 * ratios are reported.
 *
 * Per block: req/s (autocannon, closed loop) and the server process's CPU time per request (its
 * `process.cpuUsage()` delta over the block, divided by the block's requests), the steadier
 * figure on a loaded machine: it does not count time the server waits for a core.
 */
import autocannon from 'autocannon';
import { loadavg } from 'node:os';
import { copyLuaAssets, machineLine, writeResults } from './runner';
import { num } from './util';

export interface Block {
  reqPerSec: number;
  cpuUsPerRequest: number;
}

export interface BlockLoad {
  url: string;
  headers?: Record<string, string>;
  connections: number;
  durationS: number;
}

/**
 * One block of closed-loop load on `load.url`; `cpuMs()` reads the server's CPU ms so far. Any
 * non-2xx answer or error fails the block: a ratio of failures would mean nothing.
 */
export async function measureBlock(load: BlockLoad, cpuMs: () => Promise<number>): Promise<Block> {
  if (new URL(load.url).hostname !== '127.0.0.1') throw new Error('traffic goes to 127.0.0.1 only');
  const before = await cpuMs();
  const r = await autocannon({
    url: load.url,
    headers: load.headers,
    connections: load.connections,
    duration: load.durationS,
    pipelining: 1,
    timeout: 10,
  });
  const after = await cpuMs();
  if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0)
    throw new Error(`${load.url}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
  return {
    reqPerSec: r.requests.average,
    cpuUsPerRequest: ((after - before) * 1000) / r.requests.total,
  };
}

/** Prints one measured block: `  <label>: <req/s> req/s, <µs> µs CPU/request`. */
export function logBlock(label: string, b: Block): void {
  console.log(
    `  ${label}: ${Math.round(b.reqPerSec)} req/s, ${b.cpuUsPerRequest.toFixed(1)} µs CPU/request`,
  );
}

/**
 * `rounds` rounds; each runs `block(state)` once per state, in an order rotated round by round
 * (with two states: alternated). Returns each state's blocks, one per round, in round order.
 */
export async function pairedRounds<S extends string>(
  states: readonly S[],
  rounds: number,
  block: (state: S, round: number) => Promise<Block>,
): Promise<Map<S, Block[]>> {
  const out = new Map<S, Block[]>(states.map((s) => [s, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < states.length; i++) {
      const state = states[(i + round) % states.length];
      out.get(state)?.push(await block(state, round));
    }
  }
  return out;
}

/** Lower quartile, median and upper quartile (nearest rank). */
export function quartiles(values: number[]): [number, number, number] {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))];
  return [at(0.25), at(0.5), at(0.75)];
}

export interface PairedSummary {
  /** quartiles of the per-round ratios state ÷ reference */
  cpuRatio: [number, number, number];
  reqPerSecRatio: [number, number, number];
  /** medians over rounds */
  cpuUs: number;
  reqPerSec: number;
  referenceCpuUs: number;
  referenceReqPerSec: number;
}

/** A state's blocks against the reference's blocks of the same rounds. */
export function summarizePaired(blocks: Block[], reference: Block[]): PairedSummary {
  const n = Math.min(blocks.length, reference.length);
  const idx = Array.from({ length: n }, (_, i) => i);
  return {
    cpuRatio: quartiles(idx.map((i) => blocks[i].cpuUsPerRequest / reference[i].cpuUsPerRequest)),
    reqPerSecRatio: quartiles(idx.map((i) => blocks[i].reqPerSec / reference[i].reqPerSec)),
    cpuUs: quartiles(blocks.map((b) => b.cpuUsPerRequest))[1],
    reqPerSec: quartiles(blocks.map((b) => b.reqPerSec))[1],
    referenceCpuUs: quartiles(reference.map((b) => b.cpuUsPerRequest))[1],
    referenceReqPerSec: quartiles(reference.map((b) => b.reqPerSec))[1],
  };
}

/** `1.043` → `+4.3 %`. */
export const percent = (ratio: number): string =>
  `${ratio >= 1 ? '+' : '−'}${Math.abs((ratio - 1) * 100).toFixed(1)} %`;

/** `0.912` → `0.91×`. */
export const times = (ratio: number): string => `${ratio.toFixed(2)}×`;

/** The settings every paired benchmark reads from the environment. */
export interface PairedSettings {
  rounds: number;
  blockS: number;
  warmupS: number;
  connections: number;
  resultsFile: string;
  platforms: ('fastify' | 'express')[];
}

/**
 * BENCH_ROUNDS (or `roundsVar`) [12], BENCH_BLOCK_S [3], BENCH_WARMUP_S, BENCH_CONNECTIONS [50],
 * BENCH_RESULTS_FILE and BENCH_PLATFORMS [fastify,express].
 */
export function pairedSettings(o: {
  resultsFile: string;
  warmupS: number;
  blockS?: number;
  roundsVar?: string;
}): PairedSettings {
  return {
    rounds: Math.round(num(o.roundsVar ?? 'BENCH_ROUNDS', 12, 2)),
    blockS: num('BENCH_BLOCK_S', o.blockS ?? 3, 0.5),
    warmupS: num('BENCH_WARMUP_S', o.warmupS, 0),
    connections: Math.round(num('BENCH_CONNECTIONS', 50, 1)),
    resultsFile: process.env.BENCH_RESULTS_FILE?.trim() || o.resultsFile,
    platforms: (process.env.BENCH_PLATFORMS ?? 'fastify,express')
      .split(',')
      .map((s) => s.trim())
      .filter((s): s is 'fastify' | 'express' => s === 'fastify' || s === 'express'),
  };
}

/** `1.73 / 2.01 / 3.40`: the load average now (1, 5, 15 min). */
export const loadAverage = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');

/**
 * A paired benchmark's main: copies the Lua assets, runs `measure` (given the machine line and
 * the start time, it returns the report's markdown), prints the report and writes it to
 * bench/results/`resultsFile`; exit 0, or 1 on any error.
 */
export function runPaired(
  resultsFile: string,
  measure: (machine: string, startedAt: Date) => Promise<string>,
): void {
  const main = async (): Promise<void> => {
    copyLuaAssets();
    const md = await measure(machineLine('coord'), new Date());
    console.log(md);
    console.log(`written to ${writeResults(resultsFile, md)}`);
  };
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
