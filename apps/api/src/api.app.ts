import 'reflect-metadata';
import type { ConsoleLogger, INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { RelayConfig } from '@relay/config';
import { relayLogger } from '@relay/telemetry';
import { ApiModule } from './api.module.js';
import { GracefulHttpShutdown } from './http/graceful-http-shutdown.js';
import { bodyErrorHandler } from './http/body-error.handler.js';
import { jsonBodyMiddlewares } from './http/json-body.middleware.js';
import { requestIdMiddleware } from './http/request-id.middleware.js';


/**
 * Builds the API application (not listening). main.ts and the e2e tests
 * share it, so tests exercise exactly what runs.
 */
export async function createApiApp(env?: Record<string, string>, logger?: ConsoleLogger | false): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.forRoot(env), {
    bodyParser: false,
    logger: logger ?? relayLogger('log', 'api'),
    abortOnError: false,
  });
  const config = app.get(RelayConfig);
  if (logger === undefined) app.useLogger(relayLogger(config.LOG_LEVEL, 'api'));
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(app.get(GracefulHttpShutdown).middleware);
  app.use(requestIdMiddleware);
  // Body depth bound: params' own limit plus the envelope ({steps: [{params}]}).
  app.use(...jsonBodyMiddlewares(config.BODY_MAX_BYTES, config.PARAMS_MAX_DEPTH + 3));
  app.use(bodyErrorHandler);
  // Exit 0 after a clean shutdown (Nest would otherwise re-raise the signal, which looks like a crash).
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  return app;
}
