import { applyDecorators } from '@nestjs/common';
import { ApiResponse, type HeaderObject } from '@nestjs/swagger';
import { ErrorBody, GoneErrorBody } from '../http/error-body.js';
import { RESPONSE_HEADERS, headerRef } from './response-headers.js';

/** The error statuses the job routes answer (ApiExceptionFilter, the body guard, the HTTP server's request timeout). */
export type ErrorStatus = 400 | 401 | 403 | 404 | 408 | 409 | 410 | 413 | 415 | 422 | 429 | 500 | 503;

interface ErrorCase {
  description: string;
  /** An example message per cause, named and summarised. */
  messages: Record<string, [summary: string, message: string | string[]]>;
  body?: typeof ErrorBody;
  headers?: Record<string, HeaderObject | { $ref: string }>;
}

const RETRY_AFTER_WHEN_A_RATE: HeaderObject = {
  ...RESPONSE_HEADERS['Retry-After'],
  required: false,
  description: 'Seconds to wait: sent for the rate limit and the failed-authentication limit, not for the stored-jobs quota (it frees only as jobs expire).',
};

const CASES: Record<ErrorStatus, ErrorCase> = {
  400: {
    description:
      'Invalid input: a field-level list for the body and query (unknown fields included), one message otherwise (malformed JSON or cursor, a body nested too deep, two Authorization headers).',
    messages: {
      validation: ['A field fails validation', ['action must be "provider.name": lowercase letters, digits and _, each part starting with a letter']],
      malformedJson: ['The body is not JSON', 'request body is not valid JSON'],
      twoAuthorizationHeaders: ['Two Authorization headers', 'send one Authorization header, not several'],
    },
  },
  401: {
    description: 'No API key, or one that is unknown or revoked. The key is read from `Authorization: Bearer` only.',
    messages: {
      missing: ['No API key', 'missing API key: send Authorization: Bearer <key>'],
      invalid: ['Unknown or revoked API key', 'invalid or revoked API key'],
    },
  },
  403: {
    description: "The key lacks the route's scope, a `workspace_id` is not the key's workspace, or the action is not permitted for the workspace.",
    messages: {
      missingScope: ["The key lacks the route's scope", 'API key lacks scope actions:execute'],
      otherWorkspace: ['Another workspace named', "workspace_id does not match the API key's workspace"],
      actionNotPermitted: ['The action is not permitted', 'action not permitted for this workspace: gmail.send'],
    },
  },
  404: { description: "No such job in the key's workspace (another workspace's job is answered the same).", messages: { notFound: ['No such job', 'job not found'] } },
  408: {
    description: 'The request body did not arrive within HTTP_REQUEST_TIMEOUT_MS (default 30 s); the connection is closed.',
    messages: { timeout: ['The body did not arrive in time', 'request not received in time'] },
  },
  409: {
    description: 'The job is final (succeeded, failed or cancelled): there is nothing left to cancel.',
    messages: { final: ['The job has finished', 'job is succeeded; only a job that has not finished can be cancelled'] },
  },
  410: {
    description: "The client_request_id's job has expired (within the key's 24 h): nothing was created or run. `job_id` names the expired job.",
    body: GoneErrorBody,
    messages: {
      expired: [
        "The client_request_id's job has expired",
        'the job first created for this client_request_id has expired (finished jobs are kept 86400 s); it was not run again. Use a new client_request_id to submit again',
      ],
    },
  },
  413: { description: 'The body exceeds BODY_MAX_BYTES (default 256 KiB).', messages: { tooLarge: ['The body is too large', 'request body too large'] } },
  415: { description: 'A body that is not `application/json`.', messages: { notJson: ['The body is not application/json', 'Content-Type must be application/json'] } },
  422: {
    description: 'The client_request_id was first used with a different payload.',
    messages: { mismatch: ['Same client_request_id, another payload', 'client_request_id was already used with a different payload'] },
  },
  429: {
    description: 'Over the rate limit of the API key, over the failed-authentication limit of the client address, or over the workspace quota of stored jobs.',
    messages: {
      rateLimit: ['Rate limit of the API key', 'rate limit exceeded; retry after the Retry-After delay'],
      failedAuthentications: ['Too many failed authentications from this address', 'too many failed authentications from this address; retry after the Retry-After delay'],
      quota: [
        'Stored-jobs quota of the workspace',
        'workspace quota: 100000 jobs stored, at most 100000 (WORKSPACE_MAX_STORED_JOBS or WORKSPACE_LIMITS); this submit of 1 job(s) would exceed it. Finished jobs free their place when they expire (JOB_RETENTION_SECONDS)',
      ],
    },
    headers: { 'Retry-After': RETRY_AFTER_WHEN_A_RATE },
  },
  500: { description: 'An unexpected fault, logged with the request id; nothing more is said.', messages: { internal: ['An unexpected fault', 'internal error'] } },
  503: {
    description:
      'Redis did not answer in time or refuses writes, the API has too many submits waiting, or (REDIS_MIN_REPLICAS_ACK) the replicas did not confirm the jobs in time: then they are written and named, and a retry with the same client_request_id is safe.',
    messages: {
      redisUnavailable: ['Redis does not answer', 'storage temporarily unavailable; retry shortly'],
      redisFull: ['Redis refuses writes (out of memory)', 'storage is full and refuses writes; retry later'],
      overloaded: ['Too many submits waiting', 'the API is overloaded: too many submits are waiting for storage; retry shortly'],
      notOnReplicas: [
        'Written, not yet confirmed by replicas',
        'accepted as job 0f8e5c1a-3b1d-4c1e-9a55-2a7d0c4b9e11, but not yet confirmed by Redis replicas; retry with the same client_request_id',
      ],
    },
    headers: { 'Retry-After': headerRef('Retry-After') },
  },
};

const STATUS_TEXT: Record<ErrorStatus, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

function example(status: ErrorStatus, message: string | string[]): Record<string, unknown> {
  const base = { statusCode: status, error: STATUS_TEXT[status], message, request_id: 'req-7f3a' };
  return status === 410 ? { job_id: '0f8e5c1a-3b1d-4c1e-9a55-2a7d0c4b9e11', ...base } : base;
}

/** The error answers of a route, each with Relay's error shape, its causes as named examples and its headers. */
export function ApiErrorResponses(...statuses: ErrorStatus[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) => {
      const { description, messages, body = ErrorBody, headers } = CASES[status];
      const examples = Object.fromEntries(Object.entries(messages).map(([name, [summary, message]]) => [name, { summary, value: example(status, message) }]));
      return ApiResponse({ status, description, type: body, examples, headers });
    }),
  );
}
