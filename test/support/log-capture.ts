import { Body, Controller, Get, Logger, Module, Param, Post } from '@nestjs/common';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

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

/** Test-only routes (`extraModules: [LogProbeModule]`) that write the app’s own lines (context `LogProbe`) while a request runs. */
@Controller('log-probe')
class LogProbeController {
  private readonly logger = new Logger('LogProbe');

  @Get(':tag')
  async twoLines(@Param('tag') tag: string): Promise<{ tag: string }> {
    this.logger.log(`before ${tag}`);
    await sleep(5 + Math.floor(Math.random() * 20)); // requests interleave
    this.logger.log(`after ${tag}`);
    return { tag };
  }

  /** The body is read from the socket before this runs (Fastify reads it in its own callbacks). */
  @Post()
  async echo(@Body() body: { tag: string }): Promise<{ tag: string }> {
    await sleep(1);
    this.logger.log(`body ${body.tag}`);
    return { tag: body.tag };
  }

  /** Answers after 300 ms: long enough for a client to give up first. */
  @Get('slow/:tag')
  async slow(@Param('tag') tag: string): Promise<{ tag: string }> {
    await sleep(300);
    return { tag };
  }

  @Get('fail/now')
  fail(): never {
    throw new Error('log-probe failure');
  }
}

@Module({ controllers: [LogProbeController] })
export class LogProbeModule {}
