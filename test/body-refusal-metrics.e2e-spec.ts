import type { Response } from 'supertest';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { PrivateRedis } from './support/redis-server.js';

/**
 * Issue 12, point 10: requests refused while their body is read (400
 * malformed or refused shape, 413 too large, 415 not JSON) are counted in
 * http_requests_total and http_request_duration_seconds under their route,
 * like every other answer. The metrics registry is shared by every
 * application in the process, so counts are compared across one request.
 */

const BODY_MAX_BYTES = 2048;

/** The value of one sample of the Prometheus text exposition, 0 when absent (labels in any order). */
function sample(exposition: string, name: string, labels: Record<string, string>): number {
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...match[2].matchAll(/([a-zA-Z_]+)="([^"]*)"/g)].map(([, k, v]) => [k, v]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v) && Object.keys(found).length === Object.keys(labels).length) return Number(match[3]);
  }
  return 0;
}

describe('body refusals in the HTTP metrics', () => {
  let server: PrivateRedis;
  let api: ApiHarness;
  let key: string;

  beforeAll(async () => {
    server = await PrivateRedis.start();
    api = await startApi(server.url, { BODY_MAX_BYTES: String(BODY_MAX_BYTES) });
    key = await api.key('acme');
  });
  afterAll(async () => {
    await api?.close();
    await server?.stop();
  });

  const post = (path: string, type: string, text: string) => api.http.post(path).set('Authorization', `Bearer ${key}`).set('Content-Type', type).send(text);

  it.each([
    ['malformed JSON', '/ai/jobs', 'application/json', '{"action": "debug.echo", ', 400],
    ['a key naming a prototype', '/ai/jobs', 'application/json', '{"action":"debug.echo","params":{"__proto__":{"x":1}}}', 400],
    ['a body nested too deep', '/ai/plans', 'application/json', '['.repeat(40) + ']'.repeat(40), 400],
    ['a body over BODY_MAX_BYTES', '/ai/jobs', 'application/json', JSON.stringify({ action: 'debug.echo', params: { pad: 'x'.repeat(BODY_MAX_BYTES) } }), 413],
    ['a text/plain body', '/ai/jobs', 'text/plain', '{"action":"debug.echo"}', 415],
    ['a form-encoded body', '/ai/plans', 'application/x-www-form-urlencoded', 'steps=1', 415],
  ])('counts %s (%s, %s) under its route and status', async (_label, path, type, text, status) => {
    const labels = { method: 'POST', route: path, status_code: String(status) };
    const before = (await api.http.get('/metrics')).text;
    const res: Response = await post(path, type, text);
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ statusCode: status, error: expect.any(String), message: expect.anything(), request_id: expect.any(String) });
    const after = (await api.http.get('/metrics')).text;
    expect(sample(after, 'http_requests_total', labels) - sample(before, 'http_requests_total', labels)).toBe(1);
    expect(sample(after, 'http_request_duration_seconds_count', labels) - sample(before, 'http_request_duration_seconds_count', labels)).toBe(1);
  });
});
