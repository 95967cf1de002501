import { Writable } from 'node:stream';

/**
 * Collects the app's log lines (JSON) instead of printing them: pass it as `logStream` to
 * `createTestApp`. nestjs-pino keeps one root logger per process, so a test file makes one and
 * tells requests apart by id.
 */
export class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      try {
        this.lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not JSON
      }
    }
    done();
  }

  /** The lines logged for the request with this id. */
  requestLines(id: string): Record<string, unknown>[] {
    return this.lines.filter((l) => (l.req as { id?: string } | undefined)?.id === id);
  }

  /** The request's "request completed" line, if it was written. */
  completed(id: string): Record<string, unknown> | undefined {
    return this.requestLines(id).find((l) => l.msg === 'request completed');
  }
}
