import type { INestApplication, LogLevel } from '@nestjs/common';
import request from 'supertest';
import { ApiKeyStore } from '@relay/auth';
import { RelayLogger } from '@relay/telemetry';
import { createApiApp } from '../../apps/api/src/api.app.js';

type JsonLogOptions = { context: string; logLevel: LogLevel; writeStreamType?: 'stdout' | 'stderr'; errorStack?: unknown; params?: Record<string, unknown>; error?: Error };

/**
 * A logger that keeps every line, so tests can assert what logs contain and
 * never contain: `lines` as `{messages, context, logLevel}` JSON, and
 * `records`, each line exactly as the process would print it (ISO
 * timestamp, request/job context fields), parsed.
 */
export class CapturingLogger extends RelayLogger {
  readonly lines: string[] = [];
  readonly records: Record<string, unknown>[] = [];
  constructor() {
    super('test', { json: true, logLevels: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] });
  }
  protected override printMessages(messages: unknown[], context?: string, logLevel?: LogLevel, ...rest: [('stdout' | 'stderr')?, unknown?, Record<string, unknown>?]): void {
    this.lines.push(JSON.stringify({ messages, context, logLevel }));
    super.printMessages(messages, context, logLevel, ...rest);
  }
  protected override printAsJson(message: unknown, options: JsonLogOptions): void {
    this.records.push(JSON.parse(this.stringifyJsonLogObject(this.getJsonLogObject(message, options))) as Record<string, unknown>);
  }
  protected override printStackTrace(stack: string): void {
    this.lines.push(stack);
  }
}

export interface ApiHarness {
  app: INestApplication;
  http: ReturnType<typeof request>;
  logs: CapturingLogger;
  /** Creates an API key and returns it in clear. */
  key(workspaceId: string, scopes?: string[], actorId?: string): Promise<string>;
  close(): Promise<void>;
}

export const BUILT_INS = 'debug.*,http.post';

/** The real API application on the file's own Redis (`redisUrl`, from fileRedis()), in-process, not listening on a port. */
export async function startApi(redisUrl: string, env: Record<string, string> = {}): Promise<ApiHarness> {
  const logs = new CapturingLogger();
  const app = await createApiApp({ REDIS_URL: redisUrl, ACTION_ALLOWLIST: BUILT_INS, ...env }, logs);
  await app.init();
  const keys = app.get(ApiKeyStore);
  return {
    app,
    http: request(app.getHttpServer()),
    logs,
    key: async (workspaceId, scopes = ['actions:execute', 'actions:preview'], actorId) =>
      (await keys.create({ workspaceId, scopes, actorId })).key,
    close: () => app.close(),
  };
}
