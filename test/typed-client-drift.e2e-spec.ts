import { readFileSync } from 'node:fs';
import { SCHEMA_TYPES_PATH, schemaTypes } from '../clients/typescript/generate/schema-types.js';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { ROOT } from './support/child-main.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * Issue 16, point 2: the typed client's committed types
 * (clients/typescript/src/schema.d.ts) are what openapi-typescript makes of
 * the document the running API serves. When a controller or DTO changes the
 * document, this fails until `npm run openapi:client` is run and the new
 * types committed (and the client compiles against them: `npm run typecheck`).
 */
describe('typed client types vs the live OpenAPI document', () => {
  let server: FileRedis;
  let api: ApiHarness;

  beforeAll(async () => {
    server = await fileRedis();
    api = await startApi(server.url);
  });
  afterAll(async () => {
    await api?.close();
    await server?.stop();
  });

  it('are exactly what the generator makes of /openapi.json', async () => {
    const document = (await api.http.get('/openapi.json').expect(200)).body;
    const committed = readFileSync(`${ROOT}/${SCHEMA_TYPES_PATH}`, 'utf8');
    expect(await schemaTypes(document)).toBe(committed);
  });

  it('would notice a change of the document (a field removed from a job)', async () => {
    const document = (await api.http.get('/openapi.json')).body;
    for (const view of ['JobSummaryView', 'JobView', 'CancelledJobView']) delete document.components.schemas[view].properties.attempts;
    const generated = await schemaTypes(document);
    expect(generated).not.toBe(readFileSync(`${ROOT}/${SCHEMA_TYPES_PATH}`, 'utf8'));
    expect(generated).not.toMatch(/^\s+attempts: number;$/m);
  });
});
