import 'reflect-metadata';
import type { Server } from 'node:http';
import type { ConsoleLogger, INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { RelayConfig, trustProxyValue } from '@relay/config';
import { RelayMetrics, relayLogger } from '@relay/telemetry';
import { ApiModule } from './api.module.js';
import { clientErrorHandler } from './http/client-error.handler.js';
import { GracefulHttpShutdown } from './http/graceful-http-shutdown.js';
import { applyHttpServerLimits } from './http/http-server-limits.js';
import { requestIdMiddleware } from './http/request-id.middleware.js';
import { requestLogMiddleware } from './http/request-log.middleware.js';
import { serveOpenApi } from './openapi/openapi.setup.js';

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
  // req.ip (the address failed authentications are counted against) believes only the proxies named here.
  app.set('trust proxy', trustProxyValue(config.TRUST_PROXY));
  const server = app.getHttpServer() as Server;
  applyHttpServerLimits(server, config);
  const metrics = app.get(RelayMetrics);
  server.on('clientError', clientErrorHandler((labels) => metrics.httpRequests.inc(labels)));
  app.use(app.get(GracefulHttpShutdown).middleware);
  app.use(requestIdMiddleware);
  app.use(requestLogMiddleware);
  // /openapi.json and /docs: public, served before Nest's routes and guards.
  serveOpenApi(app);
  // The body is read by JsonBodyGuard, after authentication (api.module.ts).
  // Exit 0 after a clean shutdown (Nest would otherwise re-raise the signal, which looks like a crash).
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  return app;
}
