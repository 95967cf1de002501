import { randomBytes } from 'node:crypto';
import {
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { currentProcess, isAlive, parseIdentity, ProcessIdentity, sameProcess } from '../common';

export type Election =
  { role: 'owner'; gen: number } | { role: 'dependent'; gen: number; owner: ProcessIdentity };

/**
 * Which local process owns an embedded service (the redis-server, the PGlite database) under a
 * data directory. Lock files `<service>.owner.<gen>` hold the owner's identity (pid and start
 * time, so a recycled pid is not mistaken for it); the highest generation is the current one.
 *
 * - A candidate reads the highest generation. If its holder is alive, the candidate is a
 *   dependent of it. Otherwise (none yet, holder dead, or released) it creates generation + 1
 *   with `link(2)`, which is atomic and fails if the file exists: of several candidates racing
 *   for the same stale lock exactly one creates the next generation, the others read again and
 *   find a live owner.
 * - The highest generation file is never deleted (a winner deletes only lower ones; a
 *   candidate that created a generation below an existing one withdraws), so an owner stays
 *   the highest until it dies or releases, and two live owners cannot exist.
 * - `release()` writes a released marker one generation up, so the next process need not wait
 *   for this one to exit.
 */
export class OwnerElection {
  constructor(
    private readonly dir: string,
    private readonly service: string,
    private readonly me: ProcessIdentity = currentProcess(),
  ) {}

  elect(): Election {
    mkdirSync(this.dir, { recursive: true });
    for (;;) {
      const top = this.highest();
      if (top !== undefined) {
        const holder = this.read(top);
        if (holder === 'missing') continue; // a withdrawn or cleaned-up file: list again
        if (holder && isAlive(holder)) {
          if (sameProcess(holder, this.me)) return { role: 'owner', gen: top };
          return { role: 'dependent', gen: top, owner: holder };
        }
      }
      const gen = (top ?? 0) + 1;
      if (!this.create(gen, JSON.stringify(this.me))) continue; // another candidate won it
      if ((this.highest() ?? 0) > gen) {
        // We listed long ago and recreated a cleaned-up generation below the current one.
        rmSync(this.lockPath(gen), { force: true });
        continue;
      }
      for (const g of this.generations()) if (g < gen) rmSync(this.lockPath(g), { force: true });
      return { role: 'owner', gen };
    }
  }

  /** Gives ownership up (after stopping the service): later candidates take over at once. */
  release(gen: number): void {
    this.create(gen + 1, JSON.stringify({ released: true, by: this.me.pid }));
  }

  private lockPath(gen: number): string {
    return join(this.dir, `${this.service}.owner.${gen}`);
  }

  private generations(): number[] {
    const prefix = `${this.service}.owner.`;
    return readdirSync(this.dir)
      .filter((f) => f.startsWith(prefix) && /^\d+$/.test(f.slice(prefix.length)))
      .map((f) => Number(f.slice(prefix.length)));
  }

  private highest(): number | undefined {
    const gens = this.generations();
    return gens.length > 0 ? Math.max(...gens) : undefined;
  }

  /** The holder's identity; undefined when released or unreadable (stale); 'missing' when gone. */
  private read(gen: number): ProcessIdentity | undefined | 'missing' {
    let text: string;
    try {
      text = readFileSync(this.lockPath(gen), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
      throw err;
    }
    try {
      return parseIdentity(JSON.parse(text));
    } catch {
      return undefined;
    }
  }

  /** Creates the lock file with its content in one step; false if it exists already. */
  private create(gen: number, content: string): boolean {
    const tmp = join(this.dir, `.${this.service}.${process.pid}.${randomBytes(4).toString('hex')}`);
    writeFileSync(tmp, content);
    try {
      linkSync(tmp, this.lockPath(gen));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    } finally {
      rmSync(tmp, { force: true });
    }
  }
}

/** What the owner publishes for dependents, and remembers (the port) for its next start. */
export interface ServiceState {
  gen: number;
  pid: number;
  startTime?: string;
  url: string;
  port: number;
  /** False while the owner starts or stops: dependents wait rather than attach. */
  ready: boolean;
}

export function readServiceState(dir: string, service: string): ServiceState | undefined {
  try {
    const s = JSON.parse(readFileSync(join(dir, `${service}.json`), 'utf8')) as ServiceState;
    return typeof s.url === 'string' && Number.isInteger(s.port) ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Written to a temporary file and renamed over the old one: readers see the old or the new state, never half. */
export function writeServiceState(dir: string, service: string, state: ServiceState): void {
  const tmp = join(dir, `.${service}.json.${process.pid}.${randomBytes(4).toString('hex')}`);
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  renameSync(tmp, join(dir, `${service}.json`));
}
