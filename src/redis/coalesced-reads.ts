interface Batch<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
}

interface KeyState<T> {
  read: () => Promise<T>;
  /** The batch of callers that arrived while a read was in flight: they get the NEXT read. */
  next?: Batch<T>;
}

/**
 * Coalesces identical Redis reads without ever answering a caller with a read issued before it
 * called: the first caller of a key starts a read; callers arriving while it is in flight wait
 * for the next read, started as soon as the current one settles, which serves all of them. So a
 * key costs at most one read in flight plus one queued, whatever the number of concurrent callers,
 * and every caller's answer comes from a command sent after the caller arrived: a write that
 * completed before a caller arrived is always seen (linearizable reads, as a per-caller read
 * would be). A failed read fails every caller of its batch (callers decide their failure policy).
 *
 * Callers must not mutate a shared result.
 *
 * @example
 * const reads = new CoalescedReads<string | null>();
 * const v = await reads.read(key, () => redis.get(key));
 */
export class CoalescedReads<T> {
  private readonly keys = new Map<string, KeyState<T>>();

  /** Number of keys with a read in flight (for tests and diagnostics). */
  get inFlight(): number {
    return this.keys.size;
  }

  /** `read()`'s result for `key` from a read started after this call; see the class. */
  read(key: string, read: () => Promise<T>): Promise<T> {
    const state = this.keys.get(key);
    if (state === undefined) {
      const s: KeyState<T> = { read };
      this.keys.set(key, s);
      return this.start(key, s);
    }
    if (state.next === undefined) {
      let resolve!: (value: T) => void;
      let reject!: (err: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      state.next = { promise, resolve, reject };
    }
    return state.next.promise;
  }

  private start(key: string, s: KeyState<T>): Promise<T> {
    let p: Promise<T>;
    try {
      p = s.read();
    } catch (err) {
      p = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const settled = (): void => {
      const waiting = s.next;
      if (waiting === undefined) {
        this.keys.delete(key);
        return;
      }
      s.next = undefined;
      this.start(key, s).then(waiting.resolve, waiting.reject);
    };
    p.then(settled, settled);
    return p;
  }
}
