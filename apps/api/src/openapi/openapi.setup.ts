import type { INestApplication } from '@nestjs/common';
import { SwaggerModule } from '@nestjs/swagger';
import { buildOpenApiDocument } from './openapi-document.js';

export const OPENAPI_JSON_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

/**
 * Serves the document at /openapi.json and the interactive page at /docs,
 * with Swagger UI's files from node_modules (swagger-ui-dist): the page
 * loads nothing from another host. Both are registered on Express before
 * Nest's routes, so no guard sees them: they are public and not rate
 * limited, and the deny-by-default guard still covers every other route.
 * The document is built on the first request and kept.
 */
export function serveOpenApi(app: INestApplication): void {
  SwaggerModule.setup(DOCS_PATH, app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: OPENAPI_JSON_PATH,
    raw: ['json'],
    customSiteTitle: 'Relay API',
    swaggerOptions: {
      // Swagger UI would otherwise send the document to validator.swagger.io for a badge.
      validatorUrl: null,
      // An API key typed into the page is kept only while the page is open, never in the browser's storage.
      persistAuthorization: false,
      displayRequestDuration: true,
    },
  });
}
