import type { INestApplicationContext, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { configFromProcessEnv, loadConfig } from '@relay/config';
import { migrationFlags, selectStorageStrategy } from '@relay/queue';
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
    // Settings and flags are checked before Nest opens a Redis connection, so a
    // refusal leaves nothing open behind it.
    if (!this.app) selectStorageStrategy(migrationFlags(this.env ? loadConfig(this.env) : await configFromProcessEnv()));
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
