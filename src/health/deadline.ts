/**
 * Each readiness check answers within this time whatever its dependency does (a frozen Redis, a
 * stuck database), so `/health/ready` as a whole answers within a second: the checks run in
 * parallel.
 */
export const CHECK_TIMEOUT_MS = 500;

/** Resolves as `work` does, or rejects after `ms` (the work itself is not cancelled). */
export async function withDeadline<T>(work: Promise<T>, ms = CHECK_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
