import 'reflect-metadata';
import type { ConsoleLogger, INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RelayConfig } from '@relay/config';
import { relayLogger } from '@relay/telemetry';
import { WorkerModule } from './worker.module.js';

/** Builds the worker application (not listening); main.ts and tests share it. */
export async function createWorkerApp(env?: Record<string, string>, logger?: ConsoleLogger | false): Promise<INestApplication> {
  const app = await NestFactory.create(WorkerModule.forRoot(env), {
    logger: logger ?? relayLogger('log', 'worker'),
    abortOnError: false,
  });
  const config = app.get(RelayConfig);
  if (logger === undefined) app.useLogger(relayLogger(config.LOG_LEVEL, 'worker'));
  // Exit 0 after a clean drain (Nest would otherwise re-raise the signal, which looks like a crash).
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  return app;
}
