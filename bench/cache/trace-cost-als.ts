/**
 * One traced command's CPU (bench/cache/trace-cost.ts) with and without AsyncLocalStorage
 * stores entered first, as the app's request-id store (LOG_REQUEST_CONTEXT, on by default) and
 * the request cost store (REDIS_REQUEST_COST, off by default) do for every request: with a store
 * active, Node 20 runs its promise hooks for
 * every promise, including the two that ioredis's `traceCommand` and Node's `tracePromise`
 * add per traced command.
 *
 * `node dist-bench/bench/cache/trace-cost-als.js` (after `tsc -p bench/tsconfig.json`): each
 * state runs in its own child process (a store, once entered, stays active in a process),
 * alternating, BENCH_ROUNDS [3] times; ns per command.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { execFileSync } from 'node:child_process';
import { measureTraceCost, TraceCost } from './trace-cost';
import { median } from '../lib/util';

async function child(mode: string): Promise<void> {
  if (mode === 'als') {
    new AsyncLocalStorage<object>().enterWith({ reqId: 'bench' });
    new AsyncLocalStorage<object>().enterWith({ commands: 0, ms: 0 });
  }
  process.stdout.write(JSON.stringify(await measureTraceCost(5, 200_000)));
}

function main(): void {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const runs: Record<string, TraceCost[]> = { plain: [], als: [] };
  for (let r = 0; r < rounds; r++)
    for (const mode of ['plain', 'als'])
      runs[mode].push(
        JSON.parse(execFileSync(process.execPath, [__filename, mode], { encoding: 'utf8' })),
      );
  for (const [mode, list] of Object.entries(runs)) {
    const m = (k: keyof TraceCost): string => median(list.map((c) => c[k])).toFixed(0);
    console.log(
      `${mode === 'als' ? 'stores entered' : 'no store     '}: untraced ${m('untraced')} ns, ` +
        `do-nothing handlers ${m('noopTracer')} ns, RedisCommandMetrics ${m('metrics')} ns per command`,
    );
  }
}

const mode = process.argv[2];
if (mode) void child(mode);
else main();
