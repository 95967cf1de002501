import { INestApplication, NestApplicationOptions } from '@nestjs/common';
import { AbstractHttpAdapter, HttpAdapterHost } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { IncomingHttpHeaders, Server, STATUS_CODES } from 'node:http';
import type { AppConfig } from '../config';
import { HttpRequestMetrics, MetricsService } from '../metrics';
import { AllExceptionsFilter } from './all-exceptions.filter';
import { createApiDocument } from './api-docs';
import { ClientErrorResponder } from './client-errors';
import {
  BODYLESS_METHODS,
  checkJsonHeaders,
  decodeJsonBody,
  expressJsonBody,
  hasBody,
} from './json-body';
import { expressRequestId, REQUEST_ID_HEADER, requestIdFrom } from './request-id';
import { RequestLogger } from './request-logger';
import { AppValidationPipe } from './validation.pipe';

/**
 * How often Node checks open connections against the request and headers timeouts (its default,
 * 30 s, would let a stalled request outlive a 10 s timeout by up to 30 s).
 */
const CONNECTIONS_CHECK_MS = 1000;

/** Longest route parameter Fastify routes; longer ones are refused by our own validators, as on Express. */
const MAX_PARAM_LENGTH = 8192;

/**
 * `TRUST_PROXY` as both platforms take it. A hop count becomes a trust function (`i < hops`),
 * because Fastify 5 ignores numeric hop counts; addresses and CIDRs are passed as they are (both
 * compile them with proxy-addr). Either way the client is the right-most untrusted address.
 */
function trustProxySetting(
  config: AppConfig,
): false | string[] | ((addr: string, i: number) => boolean) {
  const t = config.trustProxy;
  if (typeof t !== 'number') return t;
  return (_addr: string, i: number) => i < t;
}

/** The client-error responder of each adapter, so configureApp can count what it answers. */
const responders = new WeakMap<AbstractHttpAdapter, ClientErrorResponder>();

/** Node server options shared by both platforms: timeouts that close slow or stalled clients. */
function serverOptions(config: AppConfig) {
  const t = config.httpTimeouts;
  return {
    requestTimeout: t.requestMs,
    headersTimeout: t.headersMs,
    keepAliveTimeout: t.keepAliveMs,
    connectionsCheckingInterval: CONNECTIONS_CHECK_MS,
  };
}

/**
 * Express adapter whose Node server gets the same timeouts and client-error answers as Fastify's
 * (Nest's own creates the server with no options). @nestjs/platform-express (with Express 5) is
 * loaded only here, so a Fastify process (the default) never loads Express: on its own it took
 * about 100 ms and 7 MiB to load here (README › Benchmarks › Start).
 */
function timedExpressAdapter(
  config: AppConfig,
  clientErrors: ClientErrorResponder,
): AbstractHttpAdapter {
  type PlatformExpress = typeof import('@nestjs/platform-express');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { ExpressAdapter } = require('@nestjs/platform-express') as PlatformExpress;
  class TimedExpressAdapter extends ExpressAdapter {
    override initHttpServer(options: NestApplicationOptions): void {
      super.initHttpServer(options);
      // Read when the server starts listening, so setting them here is as good as createServer options.
      Object.assign(this.getHttpServer() as Server, serverOptions(config));
      (this.getHttpServer() as Server).on('clientError', clientErrors.handle);
    }
  }
  return new TimedExpressAdapter();
}

/**
 * Fastify by default (about 5× the requests per second of Express 5 for the same Nest handler
 * here), Express with `HTTP_PLATFORM=express`. Nothing outside this file and
 * {@link HttpContext} knows which one runs, and both answer the same requests the same way:
 * one JSON body parser ({@link decodeJsonBody}), one client-error responder, the same timeouts,
 * the same proxy trust.
 */
export function createHttpAdapter(config: AppConfig): AbstractHttpAdapter {
  const clientErrors = new ClientErrorResponder();
  if (config.httpPlatform === 'express') {
    const adapter = timedExpressAdapter(config, clientErrors);
    responders.set(adapter, clientErrors);
    return adapter;
  }
  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    trustProxy: trustProxySetting(config),
    logger: false,
    // RequestLogger assigns it first when request logging is on (the raw request's `id`).
    genReqId: (req: { id?: unknown; headers: IncomingHttpHeaders }) =>
      typeof req.id === 'string' ? req.id : requestIdFrom(req.headers),
    http: serverOptions(config),
    requestTimeout: config.httpTimeouts.requestMs,
    keepAliveTimeout: config.httpTimeouts.keepAliveMs,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    clientErrorHandler: clientErrors.handle,
    // Errors Fastify answers itself before routing (a malformed percent-encoding in the URL):
    // the same JSON contract as everything else.
    // A parameter over maxParamLength is a bad value, as Express's validators say (400), not
    // Fastify's 414 echoing the whole path.
    frameworkErrors: (error: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
      const status =
        error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? 400
          : error.statusCode && error.statusCode < 500
            ? error.statusCode
            : 400;
      clientErrors.observer?.(status); // answered before any middleware: counted here
      // Answered before the onRequest hook that echoes the id: echo it here (genReqId made it).
      void reply.header(REQUEST_ID_HEADER, req.id);
      void reply.code(status).send({
        statusCode: status,
        error: STATUS_CODES[status] ?? 'Bad Request',
        message:
          error.code === 'FST_ERR_BAD_URL'
            ? 'Malformed URL: a percent-encoded sequence is not valid UTF-8'
            : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
              ? `A path parameter is longer than ${MAX_PARAM_LENGTH} characters`
              : error.message,
      });
    },
  });
  const fastify = adapter.getInstance();
  fastify.addHook('onRequest', (req, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, req.id);
    done();
  });
  // The body contract's header rules run before the body is read, as on Express: a body refused
  // for its Content-Type or Content-Encoding gets 415 whatever its size, and is not read.
  fastify.addHook('preParsing', (req, _reply, payload, done) => {
    if (BODYLESS_METHODS.has(req.method) || !hasBody(req.headers)) return done(null, payload);
    try {
      checkJsonHeaders(req.headers);
    } catch (err) {
      return done(err as Error, payload);
    }
    done(null, payload);
  });
  // One parser for every content type: JSON is decoded, anything else is refused with the
  // same 415 the Express side gives (decodeJsonBody checks the headers first).
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => {
    try {
      const raw = body as Buffer;
      done(null, raw.length === 0 ? undefined : decodeJsonBody(raw, req.headers));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  responders.set(adapter, clientErrors);
  return adapter;
}

/** `abortOnError: false`: a start-up error is thrown to the caller (which stops the embedded Redis) instead of exiting at once. */
export const APP_OPTIONS: NestApplicationOptions = {
  bufferLogs: true,
  bodyParser: false,
  abortOnError: false,
};

/** Everything applied to the app after it is created, the same in `main.ts`, `worker.ts` and tests. */
export async function configureApp(app: INestApplication, config: AppConfig): Promise<void> {
  app.useLogger(app.get(Logger));
  app.useGlobalFilters(
    new AllExceptionsFilter(app.get(HttpAdapterHost), { bodyLimitBytes: config.bodyLimitBytes }),
  );
  app.useGlobalPipes(new AppValidationPipe());
  // Every request that reaches the Node server is timed, before either framework sees it.
  app.get(HttpRequestMetrics, { strict: false }).attach(app.getHttpServer() as Server);
  if (config.logRequests)
    RequestLogger.fromNestjsPino({ context: config.logRequestContext }).attach(
      app.getHttpServer() as Server,
    );
  const metrics = app.get(MetricsService, { strict: false });
  const responder = responders.get(app.getHttpAdapter() as AbstractHttpAdapter);
  if (responder) responder.observer = (status) => metrics.observeUnparsed(status);
  if (config.httpPlatform === 'express') {
    const express = app as NestExpressApplication;
    express.use(expressRequestId);
    express.use(expressJsonBody(config.bodyLimitBytes));
    express.set('trust proxy', trustProxySetting(config));
    express.disable('x-powered-by');
  }
  // Built on the first request for the docs, not at start: scanning every route for the
  // document is about 0.4 s of CPU that a start (and most processes) never needs.
  SwaggerModule.setup('docs', app, () => createApiDocument(app), { jsonDocumentUrl: 'docs/json' });
}
