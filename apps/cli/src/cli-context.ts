import type { INestApplicationContext, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CliModule } from './cli.module.js';

/**
 * Lazily boots a Nest application context (no HTTP server) the first time a
 * command needs a service, so `relay --help` works without Redis.
 */
export class CliContext {
  private app?: INestApplicationContext;
  exitCode = 0;

  constructor(
    private readonly env: Record<string, string> | undefined,
    readonly out: (line: string) => void,
  ) {}

  async get<T>(type: Type<T>): Promise<T> {
    this.app ??= await NestFactory.createApplicationContext(CliModule.forRoot(this.env), { logger: false, abortOnError: false });
    return this.app.get(type);
  }

  fail(code: number): void {
    this.exitCode = code;
  }

  async close(): Promise<void> {
    await this.app?.close();
  }
}
