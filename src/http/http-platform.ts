import { INestApplication, NestApplicationOptions } from '@nestjs/common';
import { AbstractHttpAdapter, HttpAdapterHost } from '@nestjs/core';
import { ExpressAdapter, NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import type { AppConfig } from '../config/config.schema';
import { AllExceptionsFilter } from './all-exceptions.filter';
import { expressRequestId, REQUEST_ID_HEADER, requestIdFrom } from './request-id';
import { AppValidationPipe } from './validation.pipe';
import type { IncomingMessage } from 'node:http';

/**
 * Fastify by default (about 5× the requests per second of Express 5 for the same Nest handler
 * here), Express with `HTTP_PLATFORM=express`. Nothing outside this file and
 * {@link HttpContext} knows which one runs.
 */
export function createHttpAdapter(config: AppConfig): AbstractHttpAdapter {
  if (config.httpPlatform === 'express') return new ExpressAdapter();
  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    logger: false,
    genReqId: (req: IncomingMessage) => requestIdFrom(req.headers),
  });
  adapter.getInstance().addHook('onRequest', (req, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, req.id);
    done();
  });
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
  app.useGlobalFilters(new AllExceptionsFilter(app.get(HttpAdapterHost)));
  app.useGlobalPipes(new AppValidationPipe());
  if (config.httpPlatform === 'express') {
    const express = app as NestExpressApplication;
    express.use(expressRequestId);
    express.useBodyParser('json', { limit: config.bodyLimitBytes });
    express.set('trust proxy', config.trustProxy);
    express.disable('x-powered-by');
  }
  const doc = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Nest Redis patterns')
      .setDescription(
        'Reference API: cache, locks, rate limits, sessions, queues and realtime on Redis',
      )
      .setVersion('0.1.0')
      .build(),
  );
  SwaggerModule.setup('docs', app, doc, { jsonDocumentUrl: 'docs/json' });
}
