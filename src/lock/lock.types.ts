/** Options of one acquisition. Times in milliseconds. */
export interface LockOptions {
  /** Lease length; renewed automatically at about ttl/3 by `using` and `@WithLock`. Default 10 s. */
  ttl?: number;
  /** How long to keep retrying while someone else holds the lock. Default 0: fail fast. */
  wait?: number;
  /** Pause between retries. Default 50 ms. */
  retryDelay?: number;
  /** Random extra pause (0–jitter ms) added to each retry so waiters do not retry in step. Default retryDelay. */
  jitter?: number;
}

/** What a running lock-protected operation can see of its lock. */
export interface LockScope {
  resource: string;
  /** Fires when the lease is lost; pass it on to I/O that can stop early. */
  signal: AbortSignal;
  /** Strictly increasing per resource: send it with protected writes and reject lower ones. */
  fencingToken: number;
}
