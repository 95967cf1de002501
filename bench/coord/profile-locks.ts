/**
 * A small driver for profiling the lock loop of bench:coord: one variant, one shape, a few
 * seconds, on a private redis-server; prints ops and the process's CPU per op. With a fourth
 * argument, the measured run (only: not start-up, not the warm-up) is CPU-profiled into that
 * file; summarise it with `node dist-bench/bench/auth/profile.js <file>`.
 *
 *   tsc -p bench/tsconfig.json && node dist-bench/bench/coord/profile-locks.js ours 50 3 /tmp/ours-50.cpuprofile
 *
 * Arguments: variant (ours|redlock) [ours], workers [1], seconds [3], profile file [none].
 * PROFILE_HEAP=1: a sampling allocation profile (`.heapprofile`) instead of a CPU profile.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { copyLuaAssets, startPrivateRedis } from '../lib/runner';
import { LockBench, LockVariant } from './locks';

async function main(): Promise<void> {
  const [variantArg, workersArg, secondsArg, profileFile] = process.argv.slice(2);
  const variant = (variantArg ?? 'ours') as LockVariant;
  if (variant !== 'ours' && variant !== 'redlock') throw new Error('variant: ours|redlock');
  const workers = Number(workersArg ?? 1);
  const seconds = Number(secondsArg ?? 3);
  copyLuaAssets();
  const redis = await startPrivateRedis('nrp-lockprof-redis-');
  const bench = await LockBench.create(redis.url, 200);
  try {
    await bench.throughput(variant, workers, 2000, 10_000, 'warm');
    const session = profileFile ? new Session() : undefined;
    const heap = process.env.PROFILE_HEAP === '1';
    if (session) {
      session.connect();
      if (heap) {
        await post(session, 'HeapProfiler.enable');
        await post(session, 'HeapProfiler.startSampling', {
          samplingInterval: 4096,
          includeObjectsCollectedByMajorGC: true,
          includeObjectsCollectedByMinorGC: true,
        });
      } else {
        await post(session, 'Profiler.enable');
        await post(session, 'Profiler.start');
      }
    }
    const cpu0 = process.cpuUsage();
    const run = await bench.throughput(variant, workers, seconds * 1000, 10_000, 'prof');
    const cpu = process.cpuUsage(cpu0);
    if (session && profileFile) {
      const { profile } = (await post(
        session,
        heap ? 'HeapProfiler.stopSampling' : 'Profiler.stop',
      )) as { profile: unknown };
      writeFileSync(profileFile, JSON.stringify(profile));
      session.disconnect();
    }
    const cpuUs = cpu.user + cpu.system;
    process.stdout.write(
      `${variant} workers=${workers}: ${run.ops} ops, ${Math.round(run.opsPerSec)} ops/s, ` +
        `client CPU ${(cpuUs / run.ops).toFixed(1)} µs/op, errors ${run.errors}\n`,
    );
  } finally {
    await bench.close();
    await redis.stop();
  }
}

function post(session: Session, method: string, params?: object): Promise<unknown> {
  return new Promise((resolve, reject) =>
    session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))),
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
