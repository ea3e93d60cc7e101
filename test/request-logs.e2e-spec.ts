import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { parseKeyId } from '@relay/auth';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { expectEventually } from './support/expect-eventually.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * Issue 16, point 3 (API side): one structured line per HTTP request, and the
 * request id on every line written while serving it, read from the lines the
 * real logger prints (CapturingLogger.records) on a real Redis.
 */
type LogRecord = Record<string, unknown> & { message?: Record<string, unknown> };
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

describe('request logs', () => {
  let server: FileRedis;
  let api: ApiHarness;
  let key: string;

  beforeAll(async () => {
    server = await fileRedis();
    api = await startApi(server.url);
    key = await api.key('acme');
  });
  afterAll(async () => {
    await api.close();
    await server.stop();
  });

  const records = () => api.logs.records as LogRecord[];
  /** The request line of one request id (eventually: it is written on 'finish'). */
  const requestLine = (requestId: string) =>
    expectEventually(() => {
      const lines = records().filter((r) => r.context === 'HttpRequest' && r.message?.request_id === requestId);
      expect(lines).toHaveLength(1);
      return lines[0];
    });

  it('one line per request: request id, method, route pattern, status, duration, key id and workspace; never the URL or its query', async () => {
    const submitted = await api.http.post('/ai/jobs').set(bearer(key)).set('X-Request-Id', 'rl-submit').send({ action: 'debug.echo', params: { note: 'param-value-never-logged' } });
    expect(submitted.status).toBe(202);
    const jobId = submitted.body.job_id as string;
    const read = await api.http.get(`/ai/jobs/${jobId}?token=query-secret-never-logged`).set(bearer(key)).set('X-Request-Id', 'rl-read');
    expect(read.status).toBe(200);

    const line = await requestLine('rl-read');
    expect(line).toMatchObject({ level: 'log', request_id: 'rl-read' });
    expect(line.timestamp).toMatch(ISO);
    expect(line.message).toEqual({
      event: 'http_request',
      request_id: 'rl-read',
      method: 'GET',
      route: '/ai/jobs/:id',
      status: 200,
      duration_ms: expect.any(Number),
      key_id: parseKeyId(key),
      workspace_id: 'acme',
    });
    expect(await requestLine('rl-submit')).toMatchObject({ message: { method: 'POST', route: '/ai/jobs', status: 202, workspace_id: 'acme' } });
    const text = JSON.stringify(records());
    for (const secret of [jobId, 'query-secret-never-logged', 'param-value-never-logged', key]) expect(text).not.toContain(secret);
  });

  it('a refused request is logged with its status; no key id or workspace before the key is verified', async () => {
    const anonymous = await api.http.get('/ai/jobs').set('X-Request-Id', 'rl-anon');
    expect(anonymous.status).toBe(401);
    const line = await requestLine('rl-anon');
    expect(line.message).toMatchObject({ route: '/ai/jobs', status: 401 });
    expect(line.message).not.toHaveProperty('key_id');
    expect(line.message).not.toHaveProperty('workspace_id');

    const unknown = await api.http.get('/no/such/path?x=1').set('X-Request-Id', 'rl-404');
    expect(unknown.status).toBe(404);
    expect((await requestLine('rl-404')).message).toMatchObject({ route: 'unmatched', status: 404 });
  });

  it('every line written while serving a request carries its request id, also with 20 requests at once', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `rl-many-${i}`);
    const answers = await Promise.all(ids.map((id) => api.http.get('/ai/jobs?workspace_id=other').set(bearer(key)).set('X-Request-Id', id)));
    expect(answers.map((a) => a.status)).toEqual(ids.map(() => 403));
    for (const id of ids) await requestLine(id);
    // The audit line is written deep inside the request (the workspace guard): its top-level id is the request's own.
    const audits = records().filter((r) => r.context === 'SecurityAudit' && String(r.message?.request_id).startsWith('rl-many-'));
    expect(audits).toHaveLength(20);
    for (const audit of audits) expect(audit.request_id).toBe(audit.message?.request_id);
    for (const line of records().filter((r) => String(r.message?.request_id ?? '').startsWith('rl-many-'))) {
      expect(line.request_id).toBe(line.message?.request_id);
    }
  });

  it('health probes and metric scrapes are logged at debug, so LOG_LEVEL=log leaves them out', async () => {
    await api.http.get('/health/live').set('X-Request-Id', 'rl-live').expect(200);
    await api.http.get('/metrics').set('X-Request-Id', 'rl-metrics').expect(200);
    expect(await requestLine('rl-live')).toMatchObject({ level: 'debug', message: { route: '/health/live', status: 200 } });
    expect(await requestLine('rl-metrics')).toMatchObject({ level: 'debug', message: { route: '/metrics' } });
  });

  it('a request the client abandons before the answer is logged once, aborted, with status 499', async () => {
    const http = api.app.getHttpServer() as Server;
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const arrived = new Promise<{ principal?: unknown }>((resolve) => http.once('request', resolve));
      const socket = connect((http.address() as AddressInfo).port, '127.0.0.1');
      // Half a body: the API waits for the rest (after authenticating), and the client goes away instead.
      socket.write(`POST /ai/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nX-Request-Id: rl-abort\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"action":`);
      const req = await arrived;
      await expectEventually(() => expect(req.principal).toBeDefined());
      socket.destroy();
      const line = await requestLine('rl-abort');
      expect(line.message).toMatchObject({ method: 'POST', route: '/ai/jobs', status: 499, aborted: true, workspace_id: 'acme' });
    } finally {
      await new Promise((resolve) => http.close(resolve));
    }
  });
});
