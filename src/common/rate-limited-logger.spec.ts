import { RateLimitedLogger } from './rate-limited-logger';

/** Collects what reaches the logger; the clock is a plain number the test moves. */
function setup(intervalMs = 10_000) {
  const lines: string[] = [];
  let now = 1_000_000;
  const log = new RateLimitedLogger(
    {
      warn: (m: string) => lines.push(`warn ${m}`),
      error: (m: string) => lines.push(`error ${m}`),
    },
    intervalMs,
    () => now,
  );
  return { log, lines, advance: (ms: number) => (now += ms) };
}

describe('RateLimitedLogger', () => {
  it('writes the first failure at once, even at the start of the clock', () => {
    const lines: string[] = [];
    const log = new RateLimitedLogger(
      { warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) },
      10_000,
      () => 0,
    );
    log.warn('down');
    expect(lines).toEqual(['down']);
  });

  it('writes one message per interval and says how many it dropped meanwhile', () => {
    const { log, lines, advance } = setup();
    expect(log.warn('a')).toBe(true);
    advance(1);
    expect(log.warn('b')).toBe(false);
    advance(9_000);
    expect(log.error('c')).toBe(false);
    advance(999);
    expect(log.warn('d')).toBe(true); // exactly one interval after the last written message
    advance(10_000);
    log.error('e');
    expect(lines).toEqual(['warn a', 'warn d (2 similar errors suppressed)', 'error e']);
  });
});
