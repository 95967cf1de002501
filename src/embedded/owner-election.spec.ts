import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { currentProcess, processStartTime } from '../common';
import { OwnerElection } from './owner-election';

describe('OwnerElection', () => {
  let dir: string;
  // Two live processes: this one and its parent.
  const me = currentProcess();
  const parent = { pid: process.ppid, startTime: processStartTime(process.ppid) };
  const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid;
  const lockFiles = () => readdirSync(dir).filter((f) => f.startsWith('redis.owner.'));

  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'nrp-election-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('makes the first candidate the owner and a later live candidate its dependent', () => {
    expect(new OwnerElection(dir, 'redis', parent).elect()).toEqual({ role: 'owner', gen: 1 });
    expect(new OwnerElection(dir, 'redis', me).elect()).toEqual({
      role: 'dependent',
      gen: 1,
      owner: parent,
    });
    expect(new OwnerElection(dir, 'pglite', me).elect()).toEqual({ role: 'owner', gen: 1 });
  });

  it('takes over the lock of a dead owner, and of a reused pid whose start time differs, keeping one lock file', () => {
    writeFileSync(join(dir, 'redis.owner.3'), JSON.stringify({ pid: deadPid() }));
    expect(new OwnerElection(dir, 'redis', me).elect()).toEqual({ role: 'owner', gen: 4 });
    expect(lockFiles()).toEqual(['redis.owner.4']);

    writeFileSync(
      join(dir, 'redis.owner.5'),
      JSON.stringify({ pid: parent.pid, startTime: 'another-process' }),
    );
    expect(new OwnerElection(dir, 'redis', me).elect()).toEqual({ role: 'owner', gen: 6 });
    expect(lockFiles()).toEqual(['redis.owner.6']);
  });

  it('lets the next candidate take over at once after the owner releases', () => {
    const owner = new OwnerElection(dir, 'redis', parent);
    const { gen } = owner.elect();
    owner.release(gen);
    expect(new OwnerElection(dir, 'redis', me).elect()).toEqual({ role: 'owner', gen: gen + 2 });
  });
});
