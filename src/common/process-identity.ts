import { readFileSync } from 'node:fs';

/**
 * A process, recognisable after its pid has been reused: the pid plus, where `/proc` exists
 * (Linux), the kernel's start time of the process. A lock file or an owner file holds one; a
 * later process asks {@link isAlive} whether that very process still runs.
 */
export interface ProcessIdentity {
  pid: number;
  /** Field 22 of `/proc/<pid>/stat` (clock ticks since boot); absent where there is no /proc. */
  startTime?: string;
}

/** Start time of `pid` from `/proc/<pid>/stat`, or undefined (no /proc, or no such process). */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19]; // field 22 overall; fields[0] is field 3 (state)
  } catch {
    return undefined;
  }
}

export function currentProcess(): ProcessIdentity {
  return { pid: process.pid, startTime: processStartTime(process.pid) };
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True while the process `id` names still runs (a reused pid with another start time is not it). */
export function isAlive(id: ProcessIdentity): boolean {
  if (!Number.isInteger(id.pid) || id.pid <= 0 || !pidAlive(id.pid)) return false;
  if (id.startTime === undefined) return true;
  const now = processStartTime(id.pid);
  return now === undefined || now === id.startTime;
}

export function sameProcess(a: ProcessIdentity, b: ProcessIdentity): boolean {
  return a.pid === b.pid && a.startTime === b.startTime;
}

/** Parses `{ pid, startTime? }` from JSON text; undefined when it is not one. */
export function parseIdentity(value: unknown): ProcessIdentity | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { pid, startTime } = value as { pid?: unknown; startTime?: unknown };
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return undefined;
  return typeof startTime === 'string' ? { pid, startTime } : { pid };
}
