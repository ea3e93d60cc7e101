import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { API_KEY_SCHEME } from './api-key-route.decorator.js';
import { addCommonResponseHeaders } from './response-headers.js';
import { describeTelemetryRoutes } from './telemetry-routes.js';

/** The version of the contract the document describes. */
const API_VERSION = '0.1.0';

const DESCRIPTION = [
  'Relay: a multi-tenant job service for AI agents. A workspace authenticates with an API key, submits actions as jobs and reads its own jobs back.',
  '',
  'Every answer carries `X-Request-Id`; every error is `{statusCode, error, message, request_id}`.',
  'A 429 with `Retry-After` and any 503 may be retried after that many seconds; give submits a `client_request_id` (or `Idempotency-Key`) so a retry never creates a second job.',
  'A request whose headers do not arrive within HTTP_HEADERS_TIMEOUT_MS is answered 408, and one with headers too large 431, in the same error shape, before any route is known.',
].join('\n');

function documentBase(): Omit<OpenAPIObject, 'paths'> {
  return new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('Relay API')
    .setVersion(API_VERSION)
    .setDescription(DESCRIPTION)
    .addTag('jobs', 'Submit actions as jobs, read them back, cancel them (API key).')
    .addTag('health', 'Liveness and readiness (public).')
    .addTag('metrics', 'Prometheus metrics (public).')
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', bearerFormat: 'Relay API key', description: 'An API key from `relay keys create`, in `Authorization: Bearer <key>` only. Each route names the scopes it needs.' },
      API_KEY_SCHEME,
    )
    .addSecurityRequirements(API_KEY_SCHEME)
    .addGlobalParameters({
      name: 'X-Request-Id',
      in: 'header',
      required: false,
      description: 'Your id for this request, echoed in the X-Request-Id response header and in errors when it is 1-64 of `[A-Za-z0-9._-]`; otherwise Relay makes one.',
      schema: { type: 'string' },
    })
    .build();
}

/**
 * The OpenAPI 3.1 document of the API, generated from its controllers and
 * DTOs. The one source of /openapi.json, of the docs page, and of the
 * typed client's types (clients/typescript).
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const document = SwaggerModule.createDocument(app, documentBase());
  describeTelemetryRoutes(document);
  addCommonResponseHeaders(document);
  return document;
}
