import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Validator } from '@seriousme/openapi-schema-validator';
import type request from 'supertest';
import { openApiDocumentWithoutServer } from '../apps/api/src/openapi/offline-document.js';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { expectEventually } from './support/expect-eventually.js';
import { sendIncompleteRequest } from './support/incomplete-request.js';
import { documentExamples } from './support/openapi-examples.js';
import { OpenApiResponseChecker, type RealResponse } from './support/openapi-responses.js';
import { fileRedis, type FileRedis } from './support/redis.js';
import { openSse } from './support/sse-client.js';

/**
 * Issue 16, point 1: the OpenAPI 3.1 document at /openapi.json is valid,
 * its examples match its schemas, and it tells the truth. A walk over every
 * route and every error it documents sends real requests to the real API
 * (on this file's own Redis) and checks each answer, status, headers and
 * body, against the document; the last test fails when a documented answer
 * was never seen. Three APIs share the Redis, one database each: `api`
 * (defaults), `limited` (small rate limits and request timeout, listening on
 * a port for raw sockets) and `broken` (keys of the wrong type, for 500s).
 */

const EXEC = ['actions:execute'];
const PREVIEW = ['actions:preview'];
const BOTH = [...EXEC, ...PREVIEW];
const REQUEST_TIMEOUT_MS = 500;

describe('OpenAPI document: valid, and every real answer matches it', () => {
  let server: FileRedis;
  let api: ApiHarness;
  let limited: ApiHarness;
  let broken: ApiHarness;
  let document: Record<string, unknown>;
  let checker: OpenApiResponseChecker;

  const real = (res: request.Response): RealResponse => ({ status: res.status, headers: res.headers, body: res.type === 'application/json' ? res.body : res.text });

  /** Sends a request, checks its answer against the document, and expects `status`. */
  async function expectAnswer(status: number, method: 'GET' | 'POST', path: string, on: ApiHarness, key?: string, body?: unknown, headers: Record<string, string> = {}) {
    let req = method === 'GET' ? on.http.get(path) : on.http.post(path);
    if (key) req = req.set('Authorization', `Bearer ${key}`);
    req = req.set(headers);
    const res = await (body === undefined ? req : typeof body === 'string' ? req.set('Content-Type', 'text/plain').send(body) : req.send(body as object));
    expect({ status: res.status, problems: checker.problems(method, path, real(res)) }).toEqual({ status, problems: [] });
    return res;
  }
  const submit = (key: string, body: object, on = api) => on.http.post('/ai/jobs').set('Authorization', `Bearer ${key}`).send(body);

  beforeAll(async () => {
    server = await fileRedis();
    // No worker runs here: a cancel of a running job answers 202 after a short wait.
    api = await startApi(server.url, { HEALTH_READY_PROBE_INTERVAL_MS: '100', CANCEL_WAIT_MS: '50' });
    // Listening too: an event stream's 200 is read from a socket, then dropped (it never ends by itself).
    await api.app.listen(0, '127.0.0.1');
    limited = await startApi(`${server.url}/1`, {
      RATE_LIMIT_MAX: '3',
      AUTH_FAILURES_MAX: '1',
      WORKSPACE_LIMITS: '{"full": {"max_stored_jobs": 1}}',
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      HTTP_HEADERS_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    });
    await limited.app.listen(0, '127.0.0.1');
    broken = await startApi(`${server.url}/2`);
    document = (await api.http.get('/openapi.json')).body;
    checker = new OpenApiResponseChecker(document);
  });
  afterAll(async () => {
    await Promise.all([api?.close(), limited?.close(), broken?.close()]);
    await server?.stop();
  });

  it('is a valid OpenAPI 3.1 document, the same one the client types are generated from', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    expect(result).toEqual({ valid: true });
    expect(validator.version).toBe('3.1');
    expect(document.openapi).toBe('3.1.0');
    expect(JSON.parse(JSON.stringify(await openApiDocumentWithoutServer()))).toEqual(document);
  });

  it('holds examples that are valid against their own schemas', () => {
    const examples = documentExamples(document);
    expect(examples.length).toBeGreaterThan(50);
    const invalid = examples.map((example) => ({ at: example.at, problems: checker.validateAt(example.schemaPointer, example.value) })).filter((e) => e.problems.length > 0);
    expect(invalid).toEqual([]);
  });

  it('answers each route as documented when all goes well: 202 and Location, 200 replays with Idempotent-Replayed, pages, health, metrics', async () => {
    const key = await api.key('acme', BOTH);
    const created = await expectAnswer(202, 'POST', '/ai/jobs', api, key, { action: 'debug.echo', params: { token: 's3cret', n: 1 }, client_request_id: 'c-1' });
    expect(created.headers.location).toBe(`/ai/jobs/${created.body.job_id}`);
    const replay = await expectAnswer(200, 'POST', '/ai/jobs', api, key, { action: 'debug.echo', params: { n: 1, token: 's3cret' } }, { 'Idempotency-Key': 'c-1' });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    await expectAnswer(202, 'POST', '/ai/plans', api, key, { steps: [{ action: 'debug.echo' }, { action: 'debug.sleep', params: { ms: 1 } }], client_request_id: 'p-1' });
    await expectAnswer(200, 'POST', '/ai/plans', api, key, { steps: [{ action: 'debug.echo' }, { action: 'debug.sleep', params: { ms: 1 } }], client_request_id: 'p-1' });
    const first = await expectAnswer(200, 'GET', '/ai/jobs?limit=2', api, key);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    await expectAnswer(200, 'GET', `/ai/jobs?limit=2&status=pending&cursor=${encodeURIComponent(first.body.next_cursor)}`, api, key);
    const job = await expectAnswer(200, 'GET', `/ai/jobs/${created.body.job_id}`, api, key, undefined, { 'X-Request-Id': 'walk-1' });
    expect({ params: job.body.params, requestId: job.headers['x-request-id'] }).toEqual({ params: { token: '[REDACTED]', n: 1 }, requestId: 'walk-1' });
    await expectAnswer(200, 'POST', `/ai/jobs/${created.body.job_id}/cancel`, api, key);
    // A running job (as a claim leaves it) with no worker to stop it: still running after the wait.
    const { body: running } = await submit(key, { action: 'debug.sleep', params: { ms: 10 } });
    await server.redis.hset(`ai:jobs:${running.job_id}`, { status: 'running', attempts: '1' });
    expect((await expectAnswer(202, 'POST', `/ai/jobs/${running.job_id}/cancel`, api, key)).body.cancel).toBe('requested');
    // A finished job whose result is too large for a list page (as a worker would have written it).
    const { body: large } = await submit(key, { action: 'debug.echo' });
    await server.redis.hset(`ai:jobs:${large.job_id}`, { status: 'succeeded', result: JSON.stringify({ text: 'x'.repeat(5000) }) });
    const page = await expectAnswer(200, 'GET', '/ai/jobs?limit=1', api, key);
    expect(page.body.items[0]).toMatchObject({ job_id: large.job_id, result: null, result_omitted: true });
    await expectAnswer(200, 'GET', `/ai/jobs/${large.job_id}`, api, key);
    // Event streams: the workspace's (its first bytes, then dropped), a final job's (ends by itself), and 204 once it was received.
    const port = ((api.app.getHttpServer() as Server).address() as AddressInfo).port;
    const stream = await openSse(port, '/ai/events?status=succeeded,failed&action=debug.*', { Authorization: `Bearer ${key}` });
    await expectEventually(() => expect(stream.comments.length).toBeGreaterThan(0));
    stream.close();
    expect({ status: stream.status, problems: checker.problems('GET', '/ai/events', { status: stream.status, headers: stream.headers, body: '' }) }).toEqual({ status: 200, problems: [] });
    const final = await expectAnswer(200, 'GET', `/ai/jobs/${created.body.job_id}/events`, api, key);
    const finalId = /^id: (.+)$/m.exec(final.text)![1];
    await expectAnswer(204, 'GET', `/ai/jobs/${created.body.job_id}/events`, api, key, undefined, { 'Last-Event-ID': finalId });
    const waited = await expectAnswer(200, 'GET', `/ai/jobs/${created.body.job_id}?wait=1`, api, key);
    expect(waited.headers['relay-job-final']).toBe('true');
    await expectAnswer(200, 'GET', '/health/live', api);
    await expectAnswer(200, 'GET', '/health/ready', api);
    await expectAnswer(200, 'GET', '/metrics', api);
  });

  it('documents the scopes it enforces: 401 without a key, 403 with a key lacking the scope, on every route behind the key', async () => {
    const executeOnly = await api.key('acme', EXEC);
    const previewOnly = await api.key('acme', PREVIEW);
    const routes: [string, 'GET' | 'POST', string, object | undefined][] = [
      ['submitJob', 'POST', '/ai/jobs', { action: 'debug.echo' }],
      ['submitPlan', 'POST', '/ai/plans', { steps: [{ action: 'debug.echo' }] }],
      ['listJobs', 'GET', '/ai/jobs', undefined],
      ['getJob', 'GET', '/ai/jobs/some-job', undefined],
      ['cancelJob', 'POST', '/ai/jobs/some-job/cancel', undefined],
      ['streamEvents', 'GET', '/ai/events', undefined],
      ['streamJobEvents', 'GET', '/ai/jobs/some-job/events', undefined],
    ];
    const operations = Object.values(document.paths as Record<string, Record<string, { operationId: string; security?: Record<string, string[]>[] }>>).flatMap(Object.values);
    for (const [operationId, method, path, body] of routes) {
      const [scope] = operations.find((operation) => operation.operationId === operationId)!.security![0].api_key;
      await expectAnswer(401, method, path, api, undefined, body);
      await expectAnswer(401, method, path, api, 'relay_not-a-key', body);
      await expectAnswer(403, method, path, api, scope === 'actions:execute' ? previewOnly : executeOnly, body);
    }
    await expectAnswer(403, 'GET', '/ai/jobs?workspace_id=beta', api, previewOnly);
    await expectAnswer(403, 'POST', '/ai/jobs', api, executeOnly, { action: 'gmail.send' });
    await expectAnswer(403, 'POST', '/ai/plans', api, executeOnly, { steps: [{ action: 'debug.echo' }], workspace_id: 'beta' });
    expect(operations.map((operation) => operation.operationId).sort()).toEqual([...routes.map(([id]) => id), 'getLiveness', 'getMetrics', 'getReadiness'].sort());
  });

  it('answers bad input, missing jobs and conflicts as documented (400, 404, 409, 410, 413, 415, 422)', async () => {
    const key = await api.key('acme', BOTH);
    await expectAnswer(400, 'POST', '/ai/jobs', api, key, { action: 'Not An Action', extra: 1 });
    await expectAnswer(400, 'POST', '/ai/jobs', api, key, { action: 'debug.echo', client_request_id: 'a' }, { 'Idempotency-Key': 'b' });
    await expectAnswer(400, 'POST', '/ai/plans', api, key, { steps: [] });
    await expectAnswer(400, 'GET', '/ai/jobs?limit=0&cursor=not-a-cursor', api, key);
    await expectAnswer(400, 'GET', '/ai/jobs?cursor=not-a-cursor', api, key);
    await expectAnswer(400, 'GET', '/ai/jobs/bad%20id', api, key);
    await expectAnswer(400, 'POST', '/ai/jobs/bad%20id/cancel', api, key);
    await expectAnswer(400, 'GET', '/ai/jobs/some-job?wait=31', api, key);
    await expectAnswer(400, 'GET', '/ai/events?status=done', api, key);
    await expectAnswer(400, 'GET', '/ai/events', api, key, undefined, { 'Last-Event-ID': 'not-an-id' });
    await expectAnswer(400, 'GET', '/ai/jobs/bad%20id/events', api, key);
    await expectAnswer(404, 'GET', '/ai/jobs/no-such-job/events', api, key);
    await expectAnswer(404, 'GET', '/ai/jobs/no-such-job', api, key);
    await expectAnswer(404, 'POST', '/ai/jobs/no-such-job/cancel', api, key);
    const { body: job } = await submit(key, { action: 'debug.echo' });
    await expectAnswer(200, 'POST', `/ai/jobs/${job.job_id}/cancel`, api, key);
    await expectAnswer(409, 'POST', `/ai/jobs/${job.job_id}/cancel`, api, key);
    for (const path of ['/ai/jobs', '/ai/plans']) {
      await expectAnswer(413, 'POST', path, api, key, { action: 'debug.echo', params: { pad: 'x'.repeat(300 * 1024) } });
      await expectAnswer(415, 'POST', path, api, key, 'action=debug.echo');
    }
    await submit(key, { action: 'debug.echo', params: { a: 1 }, client_request_id: 'k-422' });
    await expectAnswer(422, 'POST', '/ai/jobs', api, key, { action: 'debug.echo', params: { a: 2 }, client_request_id: 'k-422' });
    await expectAnswer(422, 'POST', '/ai/plans', api, key, { steps: [{ action: 'debug.echo' }], client_request_id: 'k-422' });
    // An expired job: its record is gone while its idempotency key is kept (what retention does to a finished job).
    const { body: gone } = await submit(key, { action: 'debug.echo', client_request_id: 'k-410' });
    await server.redis.del(`ai:jobs:${gone.job_id}`);
    const answer = await expectAnswer(410, 'POST', '/ai/jobs', api, key, { action: 'debug.echo', client_request_id: 'k-410' });
    expect(answer.body.job_id).toBe(gone.job_id);
    const { body: plan } = await api.http.post('/ai/plans').set('Authorization', `Bearer ${key}`).send({ steps: [{ action: 'debug.echo' }], client_request_id: 'p-410' });
    await server.redis.del(plan.job_ids.map((id: string) => `ai:jobs:${id}`));
    await expectAnswer(410, 'POST', '/ai/plans', api, key, { steps: [{ action: 'debug.echo' }], client_request_id: 'p-410' });
  });

  it('answers limits as documented: 429 (rate limit, quota, failed authentications) and 408 for a body that stalls', async () => {
    const routes: ['GET' | 'POST', string, object | undefined][] = [
      ['POST', '/ai/jobs', { action: 'debug.echo' }],
      ['POST', '/ai/plans', { steps: [{ action: 'debug.echo' }] }],
      ['GET', '/ai/jobs', undefined],
      ['GET', '/ai/jobs/some-job', undefined],
      ['POST', '/ai/jobs/some-job/cancel', undefined],
      ['GET', '/ai/events', undefined],
      ['GET', '/ai/jobs/some-job/events', undefined],
    ];
    for (const [method, path, body] of routes) {
      const key = await limited.key('acme', BOTH);
      for (let i = 0; i < 3; i++) await limited.http.get('/ai/jobs').set('Authorization', `Bearer ${key}`);
      const res = await expectAnswer(429, method, path, limited, key, body);
      expect(res.headers['retry-after']).toMatch(/^[1-9][0-9]*$/);
    }
    const full = await limited.key('full', BOTH);
    await expectAnswer(202, 'POST', '/ai/jobs', limited, full, { action: 'debug.echo' });
    const quota = await expectAnswer(429, 'POST', '/ai/jobs', limited, full, { action: 'debug.echo' });
    expect(quota.headers['retry-after']).toBeUndefined();

    const port = (limited.app.getHttpServer() as Server).address() as AddressInfo;
    const stalling = await limited.key('acme', BOTH);
    for (const path of ['/ai/jobs', '/ai/plans']) {
      const head = `POST ${path} HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer ${stalling}\r\nContent-Type: application/json\r\nContent-Length: 100`;
      const res = await sendIncompleteRequest(port.port, head, '{"action":');
      expect({ status: res.status, problems: checker.problems('POST', path, res) }).toEqual({ status: 408, problems: [] });
    }

    // Last on this API: once the address is over AUTH_FAILURES_MAX, every request from it is refused for the window.
    await expectAnswer(401, 'GET', '/ai/jobs', limited, 'relay_wrong-1');
    await expectAnswer(429, 'GET', '/ai/jobs', limited, 'relay_wrong-2');
  });

  it('answers an unexpected fault 500 as documented, on every route behind the key', async () => {
    const key = await broken.key('acme', BOTH);
    const { body: job } = await submit(key, { action: 'debug.echo' }, broken);
    const redis = server.redis.duplicate({ db: 2 });
    try {
      // Keys of the wrong type, as corruption or an operator's mistake would leave them.
      await redis.set('ai:jobs:broken-record', 'not a hash');
      await expectAnswer(500, 'GET', '/ai/jobs/broken-record', broken, key);
      await redis.set('ai:index:acme:status:cancelled', 'not a sorted set');
      await expectAnswer(500, 'POST', `/ai/jobs/${job.job_id}/cancel`, broken, key);
      await redis.del('ai:index:acme:status:pending');
      await redis.set('ai:index:acme:status:pending', 'not a sorted set');
      await expectAnswer(500, 'GET', '/ai/jobs', broken, key);
      await expectAnswer(500, 'POST', '/ai/jobs', broken, key, { action: 'debug.echo' });
      await expectAnswer(500, 'POST', '/ai/plans', broken, key, { steps: [{ action: 'debug.echo' }] });
      await redis.del('ai:events:acme');
      await redis.set('ai:events:acme', 'not a stream');
      await expectAnswer(500, 'GET', '/ai/events', broken, key);
      await expectAnswer(500, 'GET', `/ai/jobs/${job.job_id}/events`, broken, key);
    } finally {
      redis.disconnect();
    }
  });

  it('answers 503 with Retry-After on every route behind the key, and readiness 503, while Redis does not answer', async () => {
    const key = await api.key('acme', BOTH);
    const pid = Number(/process_id:(\d+)/.exec(await server.redis.info('server'))![1]);
    process.kill(pid, 'SIGSTOP');
    try {
      await Promise.all([
        expectAnswer(503, 'POST', '/ai/jobs', api, key, { action: 'debug.echo' }),
        expectAnswer(503, 'POST', '/ai/plans', api, key, { steps: [{ action: 'debug.echo' }] }),
        expectAnswer(503, 'GET', '/ai/jobs', api, key),
        expectAnswer(503, 'GET', '/ai/jobs/some-job', api, key),
        expectAnswer(503, 'POST', '/ai/jobs/some-job/cancel', api, key),
        expectAnswer(503, 'GET', '/ai/events', api, key),
        expectAnswer(503, 'GET', '/ai/jobs/some-job/events', api, key),
        expectEventually(() => expectAnswer(503, 'GET', '/health/ready', api), 10_000),
      ]);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  });

  it('has seen every answer it documents in the walk above', () => {
    expect(checker.documentedResponses().filter((response) => !checker.covered.has(response))).toEqual([]);
  });
});
