import { CoalescedReads } from './coalesced-reads';

/** A read whose answer the test gives later: the value it settles with is the store's value then. */
function manualStore() {
  let value = 0;
  const pending: (() => void)[] = [];
  let started = 0;
  const read = () =>
    new Promise<number>((resolve) => {
      started++;
      const sentWith = () => value; // the store answers what it holds when the read is processed
      pending.push(() => resolve(sentWith()));
    });
  return {
    read,
    set: (v: number) => (value = v),
    answerNext: () => pending.shift()!(),
    get started() {
      return started;
    },
  };
}

describe('CoalescedReads', () => {
  it('never answers a caller with a read started before it called', async () => {
    const reads = new CoalescedReads<number>();
    const store = manualStore();
    const first = reads.read('k', store.read); // read #1 in flight (sees value 0)
    store.answerNext(); // processed by the store before the write below...
    store.set(1); // ...a write that completes before the second caller arrives
    const second = reads.read('k', store.read); // read #1 not settled yet in JS terms
    expect(await first).toBe(0);
    await Promise.resolve();
    expect(store.started).toBe(2); // read #2 started for the second caller
    store.answerNext();
    expect(await second).toBe(1); // from read #2, started after it arrived
    expect(store.started).toBe(2);
  });

  it('serves every caller that arrived during a read with one next read', async () => {
    const reads = new CoalescedReads<number>();
    const store = manualStore();
    const first = reads.read('k', store.read);
    const waiting = Array.from({ length: 20 }, () => reads.read('k', store.read));
    expect(store.started).toBe(1);
    store.set(5);
    store.answerNext();
    expect(await first).toBe(5);
    await Promise.resolve();
    expect(store.started).toBe(2); // one read for the twenty
    store.set(6);
    store.answerNext();
    expect(await Promise.all(waiting)).toEqual(Array(20).fill(6));
    expect(reads.inFlight).toBe(0);
  });

  it('keeps keys apart and fails every caller of a failed read', async () => {
    const reads = new CoalescedReads<number>();
    let calls = 0;
    const failing = () => {
      calls++;
      return Promise.reject(new Error('down'));
    };
    const a = reads.read('a', failing);
    const b = reads.read('a', failing);
    const other = reads.read('b', () => Promise.resolve(7));
    await expect(a).rejects.toThrow('down');
    await expect(b).rejects.toThrow('down');
    expect(await other).toBe(7);
    expect(calls).toBe(2);
    expect(reads.inFlight).toBe(0);
  });
});
