import { readFileSync } from 'node:fs';

/** The parts of a V8 `.cpuprofile` (node --cpu-prof) the summaries read. */
export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * A profile and the self time of each of its nodes (µs), from the sample stream
 * (`timeDeltas[i]` is the gap before sample i), leaving out the first `skipS` seconds (a
 * server's start-up and warm-up).
 */
export function readSelfTimes(
  file: string,
  skipS = 0,
): { profile: CpuProfile; byId: Map<number, ProfileNode>; selfUs: Map<number, number> } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const skipUs = skipS * 1e6;
  const selfUs = new Map<number, number>();
  let elapsed = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    elapsed += profile.timeDeltas[i] ?? 0;
    if (elapsed < skipUs) continue;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  return { profile, byId, selfUs };
}

/** `functionName url` of a node's frame: what the summaries' patterns match. */
export function frameText(n: ProfileNode | undefined): string {
  return n ? `${n.callFrame.functionName} ${n.callFrame.url}` : '';
}
