/**
 * Resolves after `ms` milliseconds. `unref: true` does not keep the process alive for it (a
 * background probe loop that must not delay shutdown).
 *
 * @example
 * await sleep(20 + Math.floor(Math.random() * 30));
 */
export function sleep(ms: number, options: { unref?: boolean } = {}): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (options.unref) timer.unref();
  });
}
