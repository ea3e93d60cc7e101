import type { components } from './schema.js';

export type ErrorBody = components['schemas']['ErrorBody'];

/** An error answer of the Relay API, after any retries. */
export class RelayApiError extends Error {
  constructor(
    readonly status: number,
    /** The answer's body when it is Relay's error shape (a proxy's answer may not be). */
    readonly body: ErrorBody | undefined,
    /** X-Request-Id of the answer: quote it when reporting a problem. */
    readonly requestId: string | undefined,
    /** Tries made, the first one included. */
    readonly attempts: number,
  ) {
    super(`Relay API answered ${status}: ${describe(status, body)}`);
    this.name = 'RelayApiError';
  }
}

function describe(status: number, body: ErrorBody | undefined): string {
  if (!body) return `HTTP ${status}`;
  return Array.isArray(body.message) ? body.message.join('; ') : body.message;
}

/** Whether a parsed body has Relay's error shape. */
export function isErrorBody(value: unknown): value is ErrorBody {
  if (value === null || typeof value !== 'object') return false;
  const body = value as Record<string, unknown>;
  return typeof body.statusCode === 'number' && typeof body.error === 'string' && typeof body.request_id === 'string' && body.message !== undefined;
}
