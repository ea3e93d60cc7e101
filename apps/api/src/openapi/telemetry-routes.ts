import { getSchemaPath, type OpenAPIObject, type OperationObject } from '@nestjs/swagger';
import { ErrorBody } from '../http/error-body.js';

/** Redis's entry in a readiness answer (@nestjs/terminus's shape). */
const REDIS_STATUS = {
  type: 'object',
  properties: { redis: { type: 'object', properties: { status: { type: 'string', enum: ['up', 'down'] } }, required: ['status'] } },
};

const readinessError = (reason: string) => ({ statusCode: 503, error: 'Service Unavailable', message: [reason], request_id: 'req-7f3a' });

/**
 * The health and metrics routes belong to libs/telemetry, which the worker
 * shares and which does not depend on @nestjs/swagger; what the API's
 * document says of them is written here, over what the scanner found.
 * They need no API key (@Public), so their security requirement is empty.
 * A readiness 503 goes through the API's exception filter, so it has the
 * error shape, not terminus's health-check body.
 */
const OPERATIONS: Record<string, OperationObject> = {
  '/health/live': {
    operationId: 'getLiveness',
    tags: ['health'],
    summary: 'Liveness: 200 while the process runs (no Redis call)',
    security: [],
    responses: {
      200: {
        description: 'The process runs.',
        content: { 'application/json': { schema: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } }, required: ['status'] }, example: { status: 'ok' } } },
      },
    },
  },
  '/health/ready': {
    operationId: 'getReadiness',
    tags: ['health'],
    summary: 'Readiness: 503 while Redis does not answer',
    description: 'Served from a probe of Redis cached for HEALTH_READY_PROBE_INTERVAL_MS (default 1 s).',
    security: [],
    responses: {
      200: {
        description: 'Redis answers.',
        content: {
          'application/json': {
            schema: {
              type: 'object',
              properties: { status: { type: 'string', enum: ['ok'] }, info: REDIS_STATUS, error: { type: 'object' }, details: REDIS_STATUS },
              required: ['status', 'info', 'error', 'details'],
            },
            example: { status: 'ok', info: { redis: { status: 'up' } }, error: {}, details: { redis: { status: 'up' } } },
          },
        },
      },
      503: {
        description: 'Redis does not answer, refuses writes (full), or may evict jobs; `message` names each failed check (`redis: <why>`).',
        content: {
          'application/json': {
            schema: { $ref: getSchemaPath(ErrorBody) },
            examples: {
              redisDown: { summary: 'Redis does not answer', value: readinessError('redis: Redis did not answer') },
              redisFull: {
                summary: 'Redis refuses writes',
                value: readinessError('redis: Redis refuses writes: used memory (104857600 B) has reached maxmemory (104857600 B)'),
              },
            },
          },
        },
      },
    },
  },
  '/metrics': {
    operationId: 'getMetrics',
    tags: ['metrics'],
    summary: 'Prometheus exposition',
    description: 'Public like health: bind the port to a private network or protect it at the proxy.',
    security: [],
    responses: {
      200: {
        description: 'Every metric, in the Prometheus text format.',
        content: { 'text/plain': { schema: { type: 'string' }, example: '# HELP ai_jobs_total Jobs that reached a status\n# TYPE ai_jobs_total counter\nai_jobs_total{status="pending",workspace_id="acme"} 3\n' } },
      },
    },
  },
};

/** Replaces the scanned GET operations of the telemetry routes with the descriptions above. */
export function describeTelemetryRoutes(document: OpenAPIObject): void {
  for (const [path, operation] of Object.entries(OPERATIONS)) {
    const item = document.paths[path];
    if (!item?.get) throw new Error(`the OpenAPI document has no GET ${path}: describeTelemetryRoutes is out of date`);
    item.get = { ...operation, parameters: item.get.parameters };
  }
}
