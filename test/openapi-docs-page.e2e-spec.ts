import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * Issue 16, point 1: /openapi.json and the interactive page /docs are
 * public, while every other route still needs an API key; the page loads
 * Swagger UI from the API itself (swagger-ui-dist in node_modules), no file
 * from another host, and does not send the document to Swagger's online
 * validator.
 */
const SWAGGER_UI_DIST = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

describe('/openapi.json and /docs', () => {
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

  it('serves both without an API key, with a request id, and keeps every other route behind the key', async () => {
    const json = await api.http.get('/openapi.json');
    expect({ status: json.status, type: json.type, openapi: json.body.openapi }).toEqual({ status: 200, type: 'application/json', openapi: '3.1.0' });
    expect(json.headers['x-request-id']).toEqual(expect.any(String));
    const page = await api.http.get('/docs');
    expect({ status: page.status, type: page.type }).toEqual({ status: 200, type: 'text/html' });
    for (const path of ['/ai/jobs', '/ai/jobs/x']) expect((await api.http.get(path)).status).toBe(401);
    expect((await api.http.post('/ai/plans').send({ steps: [] })).status).toBe(401);
  });

  it('loads every script, style and icon of the page from the API itself: the files of swagger-ui-dist', async () => {
    for (const pagePath of ['/docs', '/docs/']) {
      const html = (await api.http.get(pagePath)).text;
      const references = [...html.matchAll(/\b(?:src|href)=["']([^"']+)["']/g)].map((match) => match[1]);
      expect(references.length).toBeGreaterThanOrEqual(5);
      for (const reference of references) {
        expect(reference).toMatch(/^\.\//); // relative: no scheme, no other host
        const url = new URL(reference, `http://relay${pagePath}`).pathname;
        const res = await api.http.get(url).responseType('blob');
        expect({ url, status: res.status }).toEqual({ url, status: 200 });
        const file = url.replace(/^\/docs\/(docs\/)?/, '');
        if (file !== 'swagger-ui-init.js') expect(Buffer.compare(res.body as Buffer, readFileSync(join(SWAGGER_UI_DIST, file)))).toBe(0);
      }
    }
  });

  it('starts Swagger UI on the embedded document, without the online validator, keeping no API key in the browser', async () => {
    const init = (await api.http.get('/docs/swagger-ui-init.js')).text;
    expect(init).toContain('"validatorUrl": null');
    expect(init).toContain('"persistAuthorization": false');
    expect(init).toContain('"openapi": "3.1.0"');
    expect(init).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
  });
});
