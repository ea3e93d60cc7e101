import { ConsoleLogger, type INestApplication } from '@nestjs/common';
import request from 'supertest';
import { ApiKeyStore } from '@relay/auth';
import { createApiApp } from '../../apps/api/src/api.app.js';

/** A logger that keeps every line, so tests can assert what logs never contain. */
export class CapturingLogger extends ConsoleLogger {
  readonly lines: string[] = [];
  constructor() {
    super('test', { json: true, logLevels: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] });
  }
  protected override printMessages(messages: unknown[], context?: string, logLevel?: string): void {
    this.lines.push(JSON.stringify({ messages, context, logLevel }));
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
