import { writeFileSync } from 'node:fs';
import { openApiDocumentWithoutServer } from '../../../apps/api/src/openapi/offline-document.js';
import { SCHEMA_TYPES_PATH, schemaTypes } from './schema-types.js';

/**
 * `npm run openapi:client`: writes the client's types from the API's
 * OpenAPI document, built without a server or a Redis.
 */
const document = await openApiDocumentWithoutServer();
writeFileSync(SCHEMA_TYPES_PATH, await schemaTypes(document));
console.log(`wrote ${SCHEMA_TYPES_PATH}`);
