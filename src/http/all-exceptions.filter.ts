import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { STATUS_CODES } from 'node:http';
import { AppError } from '../common';
import { isRedisUnavailableError } from '../redis';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
  details?: Record<string, unknown>;
}

/** Standard reason phrases for the `error` field. */
const REASON: Record<number, string | undefined> = STATUS_CODES;

/**
 * Every error leaves as JSON `{ statusCode, error, message }`: Nest HTTP exceptions as they are,
 * domain errors mapped by code, body-parser and Fastify parser errors (bad JSON, body too
 * large, wrong content type) as the 4xx they are. Anything else is a 500 with a generic message;
 * its details go to the log, not to the client.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly options: { bodyLimitBytes?: number } = {},
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const { httpAdapter } = this.adapterHost;
    const response = host.switchToHttp().getResponse();
    if (exception instanceof HttpException && isCustomBody(exception.getResponse())) {
      // A body with its own shape (Terminus' health report): keep it as it is.
      httpAdapter.reply(response, exception.getResponse(), exception.getStatus());
      return;
    }
    if (exception instanceof AppError && exception.headers) {
      for (const [name, value] of Object.entries(exception.headers))
        httpAdapter.setHeader(response, name, value);
    }
    const body = this.toBody(exception);
    if (body.statusCode >= 500 && !(exception instanceof AppError)) {
      this.logger.error(
        exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
      );
    }
    httpAdapter.reply(response, body, body.statusCode);
  }

  toBody(exception: unknown): ErrorBody {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const res = exception.getResponse();
      if (typeof res === 'string')
        return { statusCode: status, error: REASON[status] ?? exception.name, message: res };
      const r = res as Partial<ErrorBody> & Record<string, unknown>;
      return {
        ...r,
        statusCode: status,
        error: typeof r.error === 'string' ? r.error : (REASON[status] ?? exception.name),
        message: r.message ?? exception.message,
      };
    }
    const parser = parserError(exception, this.options.bodyLimitBytes);
    if (parser) return parser;
    if (isRedisUnavailableError(exception)) {
      return {
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'Redis is unavailable; retry shortly',
      };
    }
    return { statusCode: 500, error: 'Internal Server Error', message: 'Internal server error' };
  }
}

function isCustomBody(res: string | object): boolean {
  return typeof res === 'object' && res !== null && !('message' in res);
}

/** Errors the platform raises before the handler (Fastify's body limit, for one). */
function parserError(e: unknown, bodyLimit?: number): ErrorBody | undefined {
  const err = e as {
    status?: number;
    statusCode?: number;
    type?: string;
    code?: string;
    limit?: number;
    message?: string;
  };
  const status = err?.statusCode ?? err?.status;
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  let message = err.message ?? REASON[status] ?? 'Bad request';
  if (status === 413) {
    const limit = err.limit ?? bodyLimit;
    message = `Request body is too large${limit ? ` (limit ${limit} bytes)` : ''}`;
  }
  return { statusCode: status, error: REASON[status] ?? 'Bad Request', message };
}
