/**
 * Summarizes a V8 CPU profile (`node --cpu-prof`, e.g. from `BENCH_CPU_PROF_DIR=… npm run
 * bench:auth`): the share of samples by where the code lives (idle, GC, node internals, each
 * package under node_modules, each src/ module, the bench) and the top functions by self time.
 *
 *   node dist-bench/bench/auth/profile.js <file.cpuprofile> [top=25] [skip-s=0] [inclusive=regex]
 *
 * `skip-s`: leave out the first seconds of samples (the server's start-up: module loading), so
 * the shares are of the run under load. `inclusive`: also print the share of the non-idle time
 * spent in frames whose `function url` matches the regular expression, callees included (a
 * sample counts once however many of its frames match). For example, the Redis command
 * metrics' whole tracing path:
 *
 *   node dist-bench/bench/auth/profile.js prof.cpuprofile 25 9 \
 *     'diagnostics_channel|ioredis/built/tracing|_buildCommandContext|redis-command-metrics'
 */
import { CpuProfile, frameText, ProfileNode, readSelfTimes } from '../lib/cpu-profile';

/** Where a frame's code lives: a package, a src/ module, node internals, or a V8 pseudo-frame. */
export function placeOf(url: string, fn: string): string {
  if (!url) {
    if (fn === '(idle)') return '(idle)';
    if (fn === '(garbage collector)') return '(garbage collector)';
    if (fn === '(program)') return '(program)';
    return '(native / V8)';
  }
  if (url.startsWith('node:')) return 'node internals';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  const src = /dist-bench\/src\/([^/]+)/.exec(url);
  if (src) return `src/${src[1]}`;
  if (url.includes('dist-bench/bench/')) return 'bench';
  return url;
}

function main(): void {
  const [file, topArg, skipArg, inclusiveArg] = process.argv.slice(2);
  if (!file)
    throw new Error('usage: profile.js <file.cpuprofile> [top] [skip-s] [inclusive-regex]');
  const top = Number(topArg ?? 25);
  const { profile, byId, selfUs } = readSelfTimes(file, Number(skipArg ?? 0));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const byPlace = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const place = placeOf(url, functionName);
    byPlace.set(place, (byPlace.get(place) ?? 0) + us);
    const short = url.replace(/^.*node_modules\//, '').replace(/^.*dist-bench\//, '');
    const key =
      `${functionName || '(anonymous)'} ${short ? `${short}:${lineNumber + 1}` : ''}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  }
  const pct = (us: number): string => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
  const busy = total - (byPlace.get('(idle)') ?? 0);
  console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${pct(busy)} not idle`);
  console.log('\nself time by place:');
  for (const [place, us] of [...byPlace].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`  ${pct(us)}  ${place}`);
  console.log(`\ntop ${top} functions by self time:`);
  for (const [fn, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`  ${pct(us)}  ${fn}`);
  if (inclusiveArg) {
    const us = inclusiveUs(profile, byId, selfUs, new RegExp(inclusiveArg));
    console.log(
      `\n/${inclusiveArg}/, callees included: ${((100 * us) / busy).toFixed(2)} % of the non-idle time`,
    );
  }
}

/** Time of the samples with a frame (the sampled one or a caller) whose `function url` matches. */
function inclusiveUs(
  profile: CpuProfile,
  byId: Map<number, ProfileNode>,
  selfUs: Map<number, number>,
  match: RegExp,
): number {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  let total = 0;
  for (const [id, us] of selfUs) {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      if (byId.has(at) && match.test(frameText(byId.get(at)))) {
        total += us;
        break;
      }
    }
  }
  return total;
}

main();
