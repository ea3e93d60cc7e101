import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { BaselineModule } from './baseline.module.js';

/**
 * The minimal Nest + Express app the API submit scenario compares Relay
 * with (bench/scenarios/api-submit.ts). Run as a child process by the
 * benchmark: PORT and REDIS_URL from the environment; GET /health answers
 * 200 once it listens.
 */
const app = await NestFactory.create<NestExpressApplication>(BaselineModule, { logger: ['error', 'warn'] });
app.disable('x-powered-by');
app.enableShutdownHooks();
await app.listen(Number(process.env.PORT ?? 3100), '127.0.0.1');
