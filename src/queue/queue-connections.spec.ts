import { Deadline, DeadlineExceededError } from './queue-connections';

describe('Deadline (one timer bounds every enqueue)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  /** A promise settled from outside, and whether the bounded one has settled. */
  function pending<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: Error): void } {
    let resolve!: (v: T) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
    return { promise, resolve, reject };
  }
  const settled = <T>(p: Promise<T>) => {
    const s = { done: false, value: undefined as T | undefined, error: undefined as unknown };
    p.then(
      (v) => Object.assign(s, { done: true, value: v }),
      (e: unknown) => Object.assign(s, { done: true, error: e }),
    );
    return s;
  };

  it('passes values through, and rejections through the failure mapping', async () => {
    const d = new Deadline(1000);
    await expect(d.bound(Promise.resolve(7))).resolves.toBe(7);
    const mapped = d.bound(Promise.reject(new Error('READONLY')), (e) => new TypeError(e.message));
    await expect(mapped).rejects.toEqual(new TypeError('READONLY'));
  });

  it('rejects a promise that outlives its time, and not one that settles in time', async () => {
    const d = new Deadline(1000);
    const slow = pending<number>();
    const fast = pending<number>();
    const a = settled(d.bound(slow.promise));
    jest.advanceTimersByTime(600);
    const b = settled(d.bound(fast.promise));
    jest.advanceTimersByTime(300);
    fast.resolve(1);
    await Promise.resolve();
    await Promise.resolve();
    expect(b).toMatchObject({ done: true, value: 1 });
    expect(a.done).toBe(false);
    jest.advanceTimersByTime(100); // 1000 ms after `slow` was bounded
    await Promise.resolve();
    expect(a.error).toBeInstanceOf(DeadlineExceededError);
    expect((a.error as Error).message).toBe('redis did not answer within 1000 ms');
    slow.resolve(2); // a late answer changes nothing
    await Promise.resolve();
    expect(a.error).toBeInstanceOf(DeadlineExceededError);
  });

  it('uses one timer however many promises are pending, and each still gets its own full time', async () => {
    const d = new Deadline(1000);
    const works = Array.from({ length: 100 }, () => pending<number>());
    const bounded = works.map((w, i) => {
      if (i > 0) jest.advanceTimersByTime(10); // bounded 10 ms apart: due 1000..1990 ms
      return settled(d.bound(w.promise));
    });
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(1000 - 990); // t = 1000: the first is due
    await Promise.resolve();
    expect(bounded.filter((s) => s.done)).toHaveLength(1);
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(495); // t = 1495: due up to the one bounded at 495 ms
    await Promise.resolve();
    expect(bounded.filter((s) => s.done)).toHaveLength(50);
    jest.advanceTimersByTime(495);
    await Promise.resolve();
    expect(bounded.every((s) => s.error instanceof DeadlineExceededError)).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('stops its timer once nothing is pending', async () => {
    const d = new Deadline(1000);
    const w = pending<number>();
    const s = settled(d.bound(w.promise));
    w.resolve(1);
    await Promise.resolve();
    await Promise.resolve();
    expect(s.value).toBe(1);
    jest.advanceTimersByTime(1000);
    expect(jest.getTimerCount()).toBe(0);
  });
});
