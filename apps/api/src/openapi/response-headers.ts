import type { HeaderObject, OpenAPIObject, OperationObject, ReferenceObject } from '@nestjs/swagger';

/** The response headers Relay sends, as reusable components of the document (`#/components/headers/<name>`). */
export const RESPONSE_HEADERS: Record<string, HeaderObject> = {
  'X-Request-Id': {
    description:
      "The request's id: the caller's `X-Request-Id` when it is 1-64 of `[A-Za-z0-9._-]`, else a new UUID. Also in every error body (`request_id`) and in the logs.",
    required: true,
    schema: { type: 'string' },
    example: 'req-7f3a',
  },
  'Retry-After': {
    description: 'Seconds to wait before trying again.',
    required: true,
    schema: { type: 'string', pattern: '^[0-9]+$' },
    example: '1',
  },
  Location: { description: 'Where the job can be read.', required: true, schema: { type: 'string' }, example: '/ai/jobs/0f8e5c1a-3b1d-4c1e-9a55-2a7d0c4b9e11' },
  'Idempotent-Replayed': {
    description: 'Present on a replay: the answer names the job(s) first created for this client_request_id; nothing new was created.',
    required: true,
    schema: { type: 'string', enum: ['true'] },
    example: 'true',
  },
  'Relay-Job-Final': {
    description: 'Whether the job is final (succeeded, failed or cancelled). With `wait`, `false` means the wait ended before the job did.',
    required: true,
    schema: { type: 'string', enum: ['true', 'false'] },
    example: 'false',
  },
  'Relay-Stream-Position': {
    description:
      "On an event stream that follows the workspace (not on a final job's at-once answer): the id its events follow (the stream delivers the events after it). " +
      'A client that reconnects before any event arrived sends it as Last-Event-ID, so it misses nothing in between; after `since`, it sends `since` again instead.',
    schema: { type: 'string', pattern: '^[0-9]{1,20}-[0-9]{1,20}$' },
    example: '1795962699899-0',
  },
  'X-RateLimit-Limit': {
    description: 'Requests allowed per API key per window (RATE_LIMIT_MAX); absent when rate limiting is off.',
    schema: { type: 'string', pattern: '^[0-9]+$' },
    example: '6000',
  },
  'X-RateLimit-Remaining': { description: 'Requests left in the current window.', schema: { type: 'string', pattern: '^[0-9]+$' }, example: '5999' },
  'X-RateLimit-Reset': { description: 'Seconds until the window starts over.', schema: { type: 'string', pattern: '^[0-9]+$' }, example: '60' },
};

/** A reference to one of RESPONSE_HEADERS. */
export function headerRef(name: keyof typeof RESPONSE_HEADERS): ReferenceObject {
  return { $ref: `#/components/headers/${name}` };
}

const RATE_LIMIT_HEADERS = ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'];
/** Answered before the rate limit is counted (authentication), or outside Express (a request that timed out): no rate-limit headers. */
const BEFORE_RATE_LIMIT = new Set(['401', '408']);

/**
 * Adds the headers every answer carries: X-Request-Id on all of them, and
 * the rate-limit headers on the answers of routes behind the API key that
 * got past the rate limit. Done on the finished document rather than per
 * route, so no route can be left without them.
 */
export function addCommonResponseHeaders(document: OpenAPIObject): void {
  document.components = { ...document.components, headers: { ...document.components?.headers, ...RESPONSE_HEADERS } };
  for (const pathItem of Object.values(document.paths)) {
    for (const operation of Object.values(pathItem) as OperationObject[]) {
      const limited = (operation.security ?? document.security ?? []).some((requirement) => Object.keys(requirement).length > 0);
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        if (!response || '$ref' in response) continue;
        const headers: Record<string, HeaderObject | ReferenceObject> = { 'X-Request-Id': headerRef('X-Request-Id') };
        if (limited && !BEFORE_RATE_LIMIT.has(status)) for (const name of RATE_LIMIT_HEADERS) headers[name] = headerRef(name);
        response.headers = { ...headers, ...response.headers };
      }
    }
  }
}
