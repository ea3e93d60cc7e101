import { NestFactory } from '@nestjs/core';
import type { OpenAPIObject } from '@nestjs/swagger';
import { ApiModule } from '../api.module.js';
import { buildOpenApiDocument } from './openapi-document.js';

/**
 * The same document as /openapi.json, without a server or a Redis: Nest's
 * preview mode scans the modules without creating any provider, so nothing
 * connects anywhere. For `npm run openapi:client`, which generates the
 * typed client's types from it. Built with every setting at its default;
 * the document depends on none of them.
 */
export async function openApiDocumentWithoutServer(): Promise<OpenAPIObject> {
  const app = await NestFactory.create(ApiModule.forRoot({}), { preview: true, logger: false, abortOnError: false });
  try {
    return buildOpenApiDocument(app);
  } finally {
    await app.close();
  }
}
