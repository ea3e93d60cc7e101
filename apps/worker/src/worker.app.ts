import 'reflect-metadata';
import { ConsoleLogger, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RelayConfig } from '@relay/config';
import { WorkerModule } from './worker.module.js';

/** Builds the worker application (not listening); main.ts and tests share it. */
export async function createWorkerApp(env?: Record<string, string>, logger?: ConsoleLogger | false): Promise<INestApplication> {
  const app = await NestFactory.create(WorkerModule.forRoot(env), {
    logger: logger ?? new ConsoleLogger('worker', { json: true }),
    abortOnError: false,
  });
  app.get(RelayConfig);
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  return app;
}
