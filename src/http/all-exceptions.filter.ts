import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AppError, AppErrorCode } from '../common/app-error';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
  details?: Record<string, unknown>;
}

const CODE_STATUS: Record<AppErrorCode, number> = {
  NOT_FOUND: HttpStatus.NOT_FOUND,
  CONFLICT: HttpStatus.CONFLICT,
  INVALID_REFERENCE: HttpStatus.UNPROCESSABLE_ENTITY,
  BAD_INPUT: HttpStatus.BAD_REQUEST,
  UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE,
  LOCKED: HttpStatus.CONFLICT,
  LOCK_LOST: HttpStatus.SERVICE_UNAVAILABLE,
};

/** The `error` field for codes whose clients key on it (the rest use the status reason). */
const CODE_ERROR: Partial<Record<AppErrorCode, string>> = {
  LOCKED: 'Resource is being updated',
  LOCK_LOST: 'Lock lost',
};

const REASON: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/**
 * Every error leaves as JSON `{ statusCode, error, message }`: Nest HTTP exceptions as they are,
 * domain errors mapped by code, body-parser and Fastify parser errors (bad JSON, body too
 * large, wrong content type) as the 4xx they are. Anything else is a 500 with a generic message;
 * its details go to the log, not to the client.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const { httpAdapter } = this.adapterHost;
    const response = host.switchToHttp().getResponse();
    if (exception instanceof HttpException && isCustomBody(exception.getResponse())) {
      // A body with its own shape (Terminus' health report): keep it as it is.
      httpAdapter.reply(response, exception.getResponse(), exception.getStatus());
      return;
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
      if (status === 400 && isJsonSyntaxError(exception)) {
        return { statusCode: 400, error: REASON[400], message: MALFORMED_JSON };
      }
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
    if (exception instanceof AppError) {
      const status = CODE_STATUS[exception.code];
      return {
        statusCode: status,
        error: CODE_ERROR[exception.code] ?? REASON[status],
        message: exception.message,
        ...(exception.details ? { details: exception.details } : {}),
      };
    }
    const parser = parserError(exception);
    if (parser) return parser;
    if (isRedisUnavailable(exception)) {
      return {
        statusCode: 503,
        error: REASON[503],
        message: 'Redis is unavailable; retry shortly',
      };
    }
    return { statusCode: 500, error: REASON[500], message: 'Internal server error' };
  }
}

/** ioredis errors that mean "no connection", as opposed to a Redis reply error (a bug: 500). */
function isRedisUnavailable(e: unknown): boolean {
  const err = e as { name?: string; message?: string };
  return (
    err?.name === 'MaxRetriesPerRequestError' ||
    err?.name === 'ClusterAllFailedError' ||
    /^(Connection is closed\.|Command timed out|Stream isn't writeable)/.test(err?.message ?? '')
  );
}

function isCustomBody(res: string | object): boolean {
  return typeof res === 'object' && res !== null && !('message' in res);
}

const MALFORMED_JSON = 'Malformed JSON body: send valid JSON with Content-Type: application/json';

/** Both platforms wrap a JSON parse failure in a 400 whose message is the parser's own; give one clear message instead. */
function isJsonSyntaxError(e: HttpException): boolean {
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof SyntaxError || /\bJSON\b/.test(e.message);
}

/** Errors raised before the handler by Express body-parser or Fastify's content-type parser. */
function parserError(e: unknown): ErrorBody | undefined {
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
  if (
    err.type === 'entity.parse.failed' ||
    err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
    /JSON/.test(message)
  ) {
    message = MALFORMED_JSON;
  } else if (status === 413) {
    message = `Request body is too large${err.limit ? ` (limit ${err.limit} bytes)` : ''}`;
  } else if (status === 415) {
    message = 'Unsupported Content-Type: send application/json';
  }
  return { statusCode: status, error: REASON[status] ?? 'Bad Request', message };
}
