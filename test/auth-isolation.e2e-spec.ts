import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import type { Redis } from 'ioredis';
import type { Response } from 'supertest';
import { ApiKeyStore, mintApiKey, parseKeyId } from '@relay/auth';
import { JobsController } from '../apps/api/src/jobs/jobs.controller.js';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * Authentication, scopes and workspace isolation (SPEC sections 4 and 6), on
 * the real API application and a real Redis (a redis-server of this file's own).
 */

const ALL_SCOPES = ['actions:execute', 'actions:preview'];
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

/** Relay's one error shape, with the status in the body and the request id echoed in the header. */
function expectErrorBody(res: Response, status: number, label = 'request'): void {
  // Labelled so a failure names the request.
  expect({ label, status: res.status }).toEqual({ label, status });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(Object.keys(res.body).sort()).toEqual(['error', 'message', 'request_id', 'statusCode']);
  expect(res.body).toEqual({
    statusCode: status,
    error: STATUS_CODES[status],
    message: expect.anything(),
    request_id: res.headers['x-request-id'],
  });
  expect(res.body.request_id).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
  const messages: unknown[] = Array.isArray(res.body.message) ? res.body.message : [res.body.message];
  expect(messages.length).toBeGreaterThan(0);
  for (const m of messages) expect(typeof m === 'string' && m.length > 0).toBe(true);
}

/** The SecurityAudit lines an app logged for one request id, parsed (the capturing logger keeps them as JSON). */
function auditLines(api: ApiHarness, requestId: string): Record<string, unknown>[] {
  return api.logs.lines.flatMap((line) => {
    if (!line.startsWith('{')) return [];
    const { messages, context, logLevel } = JSON.parse(line) as { messages: unknown[]; context?: string; logLevel?: string };
    const [message] = messages as Record<string, unknown>[];
    return context === 'SecurityAudit' && message?.request_id === requestId ? [{ level: logLevel, ...message }] : [];
  });
}

/** The secret part of a key (after `rly_<16 hex>_`). */
const secretOf = (key: string) => key.slice('rly_'.length + 16 + 1);

/** The (method, path) of every route a controller declares, read from Nest's own route metadata. */
function controllerRoutes(controller: abstract new (...args: never[]) => unknown): { method: string; path: string }[] {
  const join = (...parts: string[]) => `/${parts.flatMap((p) => p.split('/')).filter(Boolean).join('/')}`;
  const bases = [Reflect.getMetadata(PATH_METADATA, controller) as string | string[]].flat();
  const proto = controller.prototype as Record<string, unknown>;
  return Object.getOwnPropertyNames(proto).flatMap((name) => {
    const handler = proto[name];
    if (name === 'constructor' || typeof handler !== 'function') return [];
    const paths = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
    const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
    if (paths === undefined || method === undefined) return [];
    return bases.flatMap((base) => [paths].flat().map((p) => ({ method: RequestMethod[method], path: join(base, p) })));
  });
}

/** Every route the running Express application has, as (method, path). */
function expressRoutes(api: ApiHarness): { method: string; path: string }[] {
  const express = api.app.getHttpAdapter().getInstance() as { router?: { stack: unknown[] }; _router?: { stack: unknown[] } };
  const stack = (express.router ?? express._router)?.stack ?? [];
  return stack.flatMap((layer) => {
    const route = (layer as { route?: { path: string | string[]; methods: Record<string, boolean> } }).route;
    if (!route) return [];
    return [route.path].flat().flatMap((path) =>
      Object.entries(route.methods)
        .filter(([, on]) => on)
        .map(([m]) => ({ method: m === '_all' ? 'ALL' : m.toUpperCase(), path: String(path) })),
    );
  });
}

/** Sends one request by method name, with an optional body. */
function send(api: ApiHarness, method: string, path: string, body?: object) {
  const m = method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete' | 'head';
  const req = api.http[m](path);
  return body === undefined ? req : req.send(body);
}

describe('authentication, scopes, workspace claims and route protection', () => {
  let api: ApiHarness;
  let redis: Redis;
  let server: FileRedis;
  let keys: ApiKeyStore;
  let fullKey: string;
  let previewKey: string;
  let executeKey: string;
  const issued: string[] = [];

  const newKey = async (workspace: string, scopes = ALL_SCOPES, actor?: string) => {
    const key = await api.key(workspace, scopes, actor);
    issued.push(key);
    return key;
  };
  const submit = async (key: string, params: object = {}) => {
    const res = await api.http.post('/ai/jobs').set(bearer(key)).send({ action: 'debug.echo', params });
    expect(res.status).toBe(202);
    return res.body as { job_id: string; created_at: string };
  };
  /** What a request could have written: the queue and the (pending) index of every workspace this file uses. */
  const writeFootprint = async () => ({
    queue: await redis.llen('ai:queue:pending'),
    alpha: await redis.zcard('ai:index:alpha:status:pending'),
    beta: await redis.zcard('ai:index:beta:status:pending'),
    legacy: (await redis.keys('ai:jobs:*')).length,
    scoped: (await redis.keys('ai:job:*')).length,
  });

  beforeAll(async () => {
    server = await fileRedis();
    redis = server.redis;
    api = await startApi(server.url);
    keys = api.app.get(ApiKeyStore);
    fullKey = await newKey('beta', ALL_SCOPES, 'agent-b');
    previewKey = await newKey('beta', ['actions:preview'], 'viewer-b');
    executeKey = await newKey('beta', ['actions:execute'], 'runner-b');
  });
  afterAll(async () => {
    await api?.close();
    await server?.stop();
  });

  describe('authentication (401)', () => {
    it('accepts a valid key in the Authorization header (the baseline the 401s are measured against)', async () => {
      const res = await api.http.get('/ai/jobs').set(bearer(fullKey));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ items: expect.any(Array), next_cursor: null });
    });

    it('answers 401 without an Authorization header, on reads and writes, and writes nothing', async () => {
      const before = await writeFootprint();
      expectErrorBody(await api.http.get('/ai/jobs'), 401);
      expectErrorBody(await api.http.post('/ai/jobs').send({ action: 'debug.echo', params: {} }), 401);
      expectErrorBody(await api.http.post('/ai/plans').send({ steps: [{ action: 'debug.echo', params: {} }] }), 401);
      expect(await writeFootprint()).toEqual(before);
    });

    it.each([
      ['Basic scheme', () => `Basic ${Buffer.from('beta:secret').toString('base64')}`],
      ['"Bearer" alone', () => 'Bearer'],
      ['"Bearer " with nothing after it', () => 'Bearer '],
      ['an empty header', () => ''],
      ['the key without a scheme', (k: string) => k],
      ['another scheme with the key', (k: string) => `Token ${k}`],
      ['two spaces after Bearer', (k: string) => `Bearer  ${k}`],
      ['two keys', (k: string) => `Bearer ${k} ${k}`],
      ['the key with trailing junk', (k: string) => `Bearer ${k}x`],
      ['a truncated key', (k: string) => `Bearer ${k.slice(0, -1)}`],
      ['the key with an upper-cased prefix', (k: string) => `Bearer RLY_${k.slice(4)}`],
      ['a key-shaped value with a non-hex key id', () => `Bearer rly_${'g'.repeat(16)}_${'A'.repeat(32)}`],
    ])('answers 401 for a malformed Authorization header: %s', async (_name, header) => {
      const value = header(fullKey);
      for (const res of [
        await api.http.get('/ai/jobs').set('Authorization', value),
        await api.http.post('/ai/jobs').set('Authorization', value).send({ action: 'debug.echo', params: {} }),
      ]) {
        expectErrorBody(res, 401);
        expect(res.text).not.toContain(secretOf(fullKey));
      }
    });

    it('answers 401 for a well-formed key that was never issued, and for a real key id with a forged secret', async () => {
      const unknown = [`rly_0123456789abcdef_${'A'.repeat(32)}`, mintApiKey().key];
      const forged = `rly_${parseKeyId(fullKey)}_${secretOf(mintApiKey().key)}`;
      for (const key of [...unknown, forged]) {
        expect(key).toMatch(/^rly_[a-f0-9]{16}_[A-Za-z0-9_-]{32}$/);
        expectErrorBody(await api.http.get('/ai/jobs').set(bearer(key)), 401);
        expectErrorBody(await api.http.post('/ai/jobs').set(bearer(key)).send({ action: 'debug.echo', params: {} }), 401);
      }
      // The forged secret must not have damaged the real key.
      expect((await api.http.get('/ai/jobs').set(bearer(fullKey))).status).toBe(200);
    });

    it('never accepts a key from the URL, the body or another header (401), and writes nothing', async () => {
      const { job_id: jobId } = await submit(fullKey);
      const before = await writeFootprint();
      for (const param of ['api_key', 'access_token', 'key', 'apiKey', 'token', 'authorization']) {
        const qs = `${param}=${encodeURIComponent(fullKey)}`;
        expectErrorBody(await api.http.get(`/ai/jobs?${qs}`), 401);
        expectErrorBody(await api.http.get(`/ai/jobs/${jobId}?${qs}`), 401);
        expectErrorBody(await api.http.post(`/ai/jobs?${qs}`).send({ action: 'debug.echo', params: {} }), 401);
        expectErrorBody(await api.http.post(`/ai/plans?${qs}`).send({ steps: [{ action: 'debug.echo' }] }), 401);
        expectErrorBody(await api.http.post(`/ai/jobs/${jobId}/cancel?${qs}`), 401);
      }
      expectErrorBody(await api.http.post('/ai/jobs').send({ action: 'debug.echo', params: {}, api_key: fullKey }), 401);
      expectErrorBody(await api.http.get('/ai/jobs').set('X-Api-Key', fullKey), 401);
      expectErrorBody(await api.http.get('/ai/jobs').set('Cookie', `api_key=${fullKey}`), 401);
      expect(await writeFootprint()).toEqual(before);
      expect(await redis.hget(`ai:jobs:${jobId}`, 'status')).toBe('pending');
    });

    it('refuses a revoked key (401) on the very next request, and only that key', async () => {
      const key = await newKey('beta', ALL_SCOPES, 'soon-revoked');
      const keyId = key.slice(4, 20);
      expect(parseKeyId(key)).toBe(keyId);
      const { job_id: jobId } = await submit(key);
      expect((await api.http.get(`/ai/jobs/${jobId}`).set(bearer(key))).status).toBe(200);

      expect(await keys.revoke(keyId)).toBe(true);

      expectErrorBody(await api.http.get(`/ai/jobs/${jobId}`).set(bearer(key)), 401);
      expectErrorBody(await api.http.get('/ai/jobs').set(bearer(key)), 401);
      expectErrorBody(await api.http.post('/ai/jobs').set(bearer(key)).send({ action: 'debug.echo', params: {} }), 401);
      expectErrorBody(await api.http.post(`/ai/jobs/${jobId}/cancel`).set(bearer(key)), 401);
      expect(await redis.hget(`ai:jobs:${jobId}`, 'status')).toBe('pending');
      // Another key of the same workspace still works.
      expect((await api.http.get(`/ai/jobs/${jobId}`).set(bearer(fullKey))).status).toBe(200);
      // Revoking again is a no-op.
      expect(await keys.revoke(keyId)).toBe(false);
    });

    it('never echoes a presented key or secret in an error body or in the logs', async () => {
      const probes = [`rly_fedcba9876543210_${'Z'.repeat(32)}`, `rly_${parseKeyId(fullKey)}_${'Q'.repeat(32)}`];
      for (const key of probes) {
        const res = await api.http.get('/ai/jobs').set(bearer(key));
        expectErrorBody(res, 401);
        expect(res.text).not.toContain(secretOf(key));
      }
      const logs = api.logs.lines.join('\n');
      for (const key of [...issued, ...probes]) expect(logs).not.toContain(secretOf(key));
    });
  });

  describe('scopes (403)', () => {
    it('refuses a preview-only key on POST /ai/jobs, POST /ai/plans and POST /ai/jobs/:id/cancel, writing nothing', async () => {
      const { job_id: jobId } = await submit(fullKey);
      const before = await writeFootprint();
      const submitted = await api.http.post('/ai/jobs').set(bearer(previewKey)).send({ action: 'debug.echo', params: {} });
      expectErrorBody(submitted, 403);
      expect(submitted.headers.location).toBeUndefined();
      expectErrorBody(await api.http.post('/ai/plans').set(bearer(previewKey)).send({ steps: [{ action: 'debug.echo', params: {} }] }), 403);
      expectErrorBody(await api.http.post(`/ai/jobs/${jobId}/cancel`).set(bearer(previewKey)), 403);
      // The scope check comes before the lookup: an absent job is 403 too, not 404.
      expectErrorBody(await api.http.post(`/ai/jobs/no-such-${randomUUID()}/cancel`).set(bearer(previewKey)), 403);
      expect(await writeFootprint()).toEqual(before);
      expect(await redis.hget(`ai:jobs:${jobId}`, 'status')).toBe('pending');
      // What it may do, it can.
      expect((await api.http.get(`/ai/jobs/${jobId}`).set(bearer(previewKey))).status).toBe(200);
      expect((await api.http.get('/ai/jobs').set(bearer(previewKey))).status).toBe(200);
    });

    it('refuses an execute-only key on GET /ai/jobs and GET /ai/jobs/:id', async () => {
      const { job_id: jobId } = await submit(executeKey);
      expectErrorBody(await api.http.get('/ai/jobs').set(bearer(executeKey)), 403);
      const read = await api.http.get(`/ai/jobs/${jobId}`).set(bearer(executeKey));
      expectErrorBody(read, 403);
      expect(read.text).not.toContain(jobId);
      expectErrorBody(await api.http.get(`/ai/jobs/no-such-${randomUUID()}`).set(bearer(executeKey)), 403);
      // What it may do, it can.
      expect((await api.http.post(`/ai/jobs/${jobId}/cancel`).set(bearer(executeKey))).status).toBe(200);
    });
  });

  describe('public routes', () => {
    it.each(['/health/live', '/health/ready', '/metrics'])('serves %s without a key (200), and with a bad one', async (path) => {
      const anonymous = await api.http.get(path);
      expect(anonymous.status).toBe(200);
      if (path === '/metrics') {
        expect(anonymous.headers['content-type']).toMatch(/^text\/plain/);
        expect(anonymous.text).toMatch(/^# HELP /m);
      } else {
        expect(anonymous.body).toMatchObject({ status: 'ok' });
      }
      expect((await api.http.get(path).set('Authorization', 'Bearer not-a-key')).status).toBe(200);
    });
  });

  describe('workspace_id in the request', () => {
    it('answers 403 to GET /ai/jobs with a workspace_id query other than the key\'s', async () => {
      for (const qs of ['workspace_id=alpha', 'workspace_id=BETA', 'workspace_id=beta%20', 'workspace_id=beta%0A', 'workspace_id=beta:x', 'workspace_id=', 'workspace_id=beta&workspace_id=alpha']) {
        expectErrorBody(await api.http.get(`/ai/jobs?${qs}`).set(bearer(fullKey)), 403, `GET /ai/jobs?${qs}`);
      }
    });

    it('answers 403 to a workspace_id query other than the key\'s on GET /ai/jobs/:id, the same for a present and an absent job', async () => {
      const { job_id: jobId } = await submit(fullKey);
      const present = await api.http.get(`/ai/jobs/${jobId}?workspace_id=alpha`).set(bearer(fullKey)).set('X-Request-Id', 'claim-probe');
      const absent = await api.http.get(`/ai/jobs/no-such-${randomUUID()}?workspace_id=alpha`).set(bearer(fullKey)).set('X-Request-Id', 'claim-probe');
      expectErrorBody(present, 403);
      expect(present.text).toBe(absent.text);
    });

    it('answers 403 to a body whose workspace_id differs from the key\'s, on every write, and writes nothing', async () => {
      const { job_id: jobId } = await submit(fullKey);
      const before = await writeFootprint();
      for (const workspace of ['alpha', 'BETA', 'beta ', 'beta\n', 'beta:x', '']) {
        const label = JSON.stringify(workspace);
        expectErrorBody(
          await api.http.post('/ai/jobs').set(bearer(fullKey)).send({ action: 'debug.echo', params: {}, workspace_id: workspace }),
          403,
          `POST /ai/jobs workspace_id=${label}`,
        );
        expectErrorBody(
          await api.http.post('/ai/plans').set(bearer(fullKey)).send({ steps: [{ action: 'debug.echo', params: {} }], workspace_id: workspace }),
          403,
          `POST /ai/plans workspace_id=${label}`,
        );
        expectErrorBody(
          await api.http.post(`/ai/jobs/${jobId}/cancel`).set(bearer(fullKey)).send({ workspace_id: workspace }),
          403,
          `POST /ai/jobs/:id/cancel workspace_id=${label}`,
        );
      }
      // In the query of a write, too.
      expectErrorBody(await api.http.post('/ai/jobs?workspace_id=alpha').set(bearer(fullKey)).send({ action: 'debug.echo', params: {} }), 403);
      expectErrorBody(await api.http.post(`/ai/jobs/${jobId}/cancel?workspace_id=alpha`).set(bearer(fullKey)), 403);
      // A workspace_id inside a plan step is never honoured either (refused, not accepted).
      const inStep = await api.http.post('/ai/plans').set(bearer(fullKey)).send({ steps: [{ action: 'debug.echo', params: {}, workspace_id: 'alpha' }] });
      expect([400, 403]).toContain(inStep.status);
      expectErrorBody(inStep, inStep.status);
      expect(await writeFootprint()).toEqual(before);
      expect(await redis.hget(`ai:jobs:${jobId}`, 'status')).toBe('pending');
    });

    it('accepts a workspace_id equal to the key\'s, in the query (200) and in the body (202), and files the job under the key\'s workspace', async () => {
      const listed = await api.http.get('/ai/jobs?workspace_id=beta').set(bearer(fullKey));
      expect(listed.status).toBe(200);
      expect(listed.body).toEqual({ items: expect.any(Array), next_cursor: null });

      const job = await api.http.post('/ai/jobs').set(bearer(fullKey)).send({ action: 'debug.echo', params: { n: 1 }, workspace_id: 'beta' });
      expect(job.status).toBe(202);
      expect(await redis.hget(`ai:jobs:${job.body.job_id}`, 'workspace_id')).toBe('beta');
      expect((await api.http.get(`/ai/jobs/${job.body.job_id}?workspace_id=beta`).set(bearer(fullKey))).body).toMatchObject({
        job_id: job.body.job_id,
        workspace_id: 'beta',
        params: { n: 1 },
      });

      const plan = await api.http.post('/ai/plans').set(bearer(fullKey)).send({ steps: [{ action: 'debug.echo', params: {} }], workspace_id: 'beta' });
      expect(plan.status).toBe(202);
      expect(plan.body.job_ids).toHaveLength(1);
      expect(await redis.hget(`ai:jobs:${plan.body.job_ids[0]}`, 'workspace_id')).toBe('beta');
      expect(await redis.zcard('ai:index:alpha:status:pending')).toBe(0);
    });
  });

  describe('audit log: one structured warning per 403, never params', () => {
    /** Values that must never reach a log line. */
    const PARAMS = { password: 'AUDIT-SECRET-pw', note: 'AUDIT-PARAM-note' };
    let probe = 0;
    const requestId = () => `audit-probe-${++probe}`;
    const logText = () => api.logs.lines.join('\n');

    it('logs a workspace claim other than the key\'s, in the query or the body, with both workspace ids, key id, route pattern and request id', async () => {
      const { job_id: jobId } = await submit(fullKey);
      const cases = [
        { method: 'GET', url: `/ai/jobs/${jobId}?workspace_id=alpha`, body: undefined, route: '/ai/jobs/:id', claimed: 'alpha', source: 'query' },
        { method: 'GET', url: '/ai/jobs?workspace_id=gamma', body: undefined, route: '/ai/jobs', claimed: 'gamma', source: 'query' },
        { method: 'POST', url: '/ai/jobs', body: { action: 'debug.echo', params: PARAMS, workspace_id: 'alpha' }, route: '/ai/jobs', claimed: 'alpha', source: 'body' },
        { method: 'POST', url: '/ai/plans', body: { steps: [{ action: 'debug.echo', params: PARAMS }], workspace_id: 'alpha' }, route: '/ai/plans', claimed: 'alpha', source: 'body' },
        { method: 'POST', url: `/ai/jobs/${jobId}/cancel`, body: { workspace_id: 'alpha' }, route: '/ai/jobs/:id/cancel', claimed: 'alpha', source: 'body' },
      ];
      for (const c of cases) {
        const id = requestId();
        const res = await send(api, c.method, c.url, c.body).set(bearer(fullKey)).set('X-Request-Id', id);
        expectErrorBody(res, 403, `${c.method} ${c.url}`);
        expect(auditLines(api, id)).toEqual([
          {
            level: 'warn',
            event: 'workspace_violation',
            request_id: id,
            method: c.method,
            route: c.route,
            key_id: parseKeyId(fullKey),
            actor_id: 'agent-b',
            key_workspace_id: 'beta',
            requested_workspace_id: c.claimed,
            source: c.source,
          },
        ]);
      }
      expect(logText()).not.toContain(jobId);
      for (const value of Object.values(PARAMS)) expect(logText()).not.toContain(value);
    });

    it('writes a claim that is not a well-formed workspace id only by its shape (it is free text, maybe a secret), and repeated query values as a list', async () => {
      const probes = [
        { url: '/ai/jobs?workspace_id=beta&workspace_id=alpha', claimed: ['beta', 'alpha'] },
        { url: '/ai/jobs?workspace_id=BETA', claimed: '<invalid: 4 characters>' },
        { url: `/ai/jobs?workspace_id=${encodeURIComponent(PARAMS.password)}`, claimed: `<invalid: ${PARAMS.password.length} characters>` },
        { url: `/ai/jobs?workspace_id=${'x'.repeat(300)}`, claimed: '<invalid: 300 characters>' },
      ];
      for (const p of probes) {
        const id = requestId();
        expectErrorBody(await api.http.get(p.url).set(bearer(fullKey)).set('X-Request-Id', id), 403);
        expect(auditLines(api, id).map((l) => l.requested_workspace_id)).toEqual([p.claimed]);
      }
      const id = requestId();
      const res = await api.http.post('/ai/jobs').set(bearer(fullKey)).set('X-Request-Id', id).send({ action: 'debug.echo', params: {}, workspace_id: { password: PARAMS.password } });
      expectErrorBody(res, 403);
      expect(auditLines(api, id).map((l) => l.requested_workspace_id)).toEqual(['<object>']);
      expect(logText()).not.toContain(PARAMS.password);
    });

    it('logs a missing scope with the key, its workspace, the route and the scopes it lacks', async () => {
      const cases = [
        { key: previewKey, actor: 'viewer-b', method: 'POST', url: '/ai/jobs', body: { action: 'debug.echo', params: PARAMS }, route: '/ai/jobs', missing: ['actions:execute'] },
        { key: executeKey, actor: 'runner-b', method: 'GET', url: `/ai/jobs/no-such-${randomUUID()}`, body: undefined, route: '/ai/jobs/:id', missing: ['actions:preview'] },
      ];
      for (const c of cases) {
        const id = requestId();
        expectErrorBody(await send(api, c.method, c.url, c.body).set(bearer(c.key)).set('X-Request-Id', id), 403);
        expect(auditLines(api, id)).toEqual([
          { level: 'warn', event: 'permission_denied', request_id: id, method: c.method, route: c.route, key_id: parseKeyId(c.key), actor_id: c.actor, workspace_id: 'beta', reason: 'missing_scope', missing_scopes: c.missing },
        ]);
      }
      for (const value of Object.values(PARAMS)) expect(logText()).not.toContain(value);
    });

    it('logs an action the workspace may not run, once per request, naming every refused action of a plan', async () => {
      const single = requestId();
      expectErrorBody(await api.http.post('/ai/jobs').set(bearer(fullKey)).set('X-Request-Id', single).send({ action: 'gmail.send', params: PARAMS }), 403);
      const plan = requestId();
      const steps = [{ action: 'debug.echo', params: PARAMS }, { action: 'gmail.send', params: PARAMS }, { action: 'http.get', params: PARAMS }, { action: 'gmail.send', params: {} }];
      expectErrorBody(await api.http.post('/ai/plans').set(bearer(fullKey)).set('X-Request-Id', plan).send({ steps }), 403);
      const expected = (id: string, route: string, actions: string[]) => [
        { level: 'warn', event: 'permission_denied', request_id: id, method: 'POST', route, key_id: parseKeyId(fullKey), actor_id: 'agent-b', workspace_id: 'beta', reason: 'not_allowlisted', actions },
      ];
      expect(auditLines(api, single)).toEqual(expected(single, '/ai/jobs', ['gmail.send']));
      expect(auditLines(api, plan)).toEqual(expected(plan, '/ai/plans', ['gmail.send', 'http.get']));
      for (const value of Object.values(PARAMS)) expect(logText()).not.toContain(value);
    });

    it('logs nothing for requests that are not refused with 403: allowed, 401, 404 for another workspace\'s job', async () => {
      const { job_id: jobId } = await submit(fullKey);
      const alphaKey = await newKey('alpha', ALL_SCOPES, 'agent-a');
      const requests = [
        { res: () => api.http.get('/ai/jobs?workspace_id=beta').set(bearer(fullKey)), status: 200 },
        { res: () => api.http.post('/ai/jobs').set(bearer(fullKey)).send({ action: 'debug.echo', params: PARAMS, workspace_id: 'beta' }), status: 202 },
        { res: () => api.http.get('/ai/jobs?workspace_id=alpha'), status: 401 },
        { res: () => api.http.get(`/ai/jobs/${jobId}`).set(bearer(alphaKey)), status: 404 },
      ];
      for (const r of requests) {
        const id = requestId();
        const res = await r.res().set('X-Request-Id', id);
        expect(res.status).toBe(r.status);
        expect(auditLines(api, id)).toEqual([]);
      }
    });
  });

  describe('every route is protected', () => {
    const DOCUMENTED = [
      { method: 'POST', path: '/ai/jobs' },
      { method: 'POST', path: '/ai/plans' },
      { method: 'GET', path: '/ai/jobs' },
      { method: 'GET', path: '/ai/jobs/:id' },
      { method: 'POST', path: '/ai/jobs/:id/cancel' },
    ];
    // The console's page and its files hold no data (README "Operator console"); its data routes need a key.
    const PUBLIC = ['GET /health/live', 'GET /health/ready', 'GET /metrics', 'GET /console', 'GET /console/:file'];
    /** The OpenAPI document and Swagger UI's routes under /docs: public too (test/openapi-docs-page.e2e-spec.ts). */
    const isDocumentation = (path: string) => path === '/openapi.json' || path === '/docs' || path.startsWith('/docs/');
    /** A body that would pass validation, so only authentication can refuse it. */
    const validBody = (path: string) =>
      path === '/ai/jobs' ? { action: 'debug.echo', params: {} } : path === '/ai/plans' ? { steps: [{ action: 'debug.echo', params: {} }] } : undefined;

    it('JobsController declares every documented route', () => {
      const routes = controllerRoutes(JobsController);
      expect(routes).toEqual(expect.arrayContaining(DOCUMENTED));
      expect(routes.length).toBeGreaterThanOrEqual(DOCUMENTED.length);
    });

    it('answers 401 without a key on every JobsController route, for a present and an absent job, before validating input', async () => {
      const { job_id: jobId } = await submit(fullKey);
      const before = await writeFootprint();
      for (const { method, path } of controllerRoutes(JobsController)) {
        for (const id of [jobId, `no-such-${randomUUID()}`]) {
          const url = path.replace(':id', id);
          const label = `${method} ${path} (id ${id === jobId ? 'present' : 'absent'})`;
          expectErrorBody(await send(api, method, url, validBody(path)), 401, label);
          // Invalid input is not looked at before the caller is known.
          expectErrorBody(await send(api, method, `${url}?limit=0&cursor=%%%`, method === 'GET' ? undefined : { nonsense: true }), 401, `${label}, invalid input`);
          if (method === 'GET') expect((await api.http.head(url)).status).toBe(401);
        }
      }
      expect(await writeFootprint()).toEqual(before);
      expect(await redis.hget(`ai:jobs:${jobId}`, 'status')).toBe('pending');
    });

    it("answers 401 without a key on every route the application serves, except health, metrics, the console's static files and the API documentation", async () => {
      const routes = expressRoutes(api);
      const served = routes.map((r) => `${r.method} ${r.path}`);
      // The enumeration sees the app's routes (else this test would prove nothing).
      expect(served).toEqual(expect.arrayContaining([...PUBLIC, ...DOCUMENTED.map((r) => `${r.method} ${r.path}`)]));
      const { job_id: jobId } = await submit(fullKey);
      for (const { method, path } of routes) {
        if (PUBLIC.includes(`${method} ${path}`) || isDocumentation(path)) continue;
        const url = path.replace(/:[A-Za-z_]+/g, jobId);
        expectErrorBody(await send(api, method === 'ALL' ? 'GET' : method, url, validBody(path)), 401, `${method} ${path}`);
      }
    });
  });
});

/**
 * The isolation matrix: in every migration phase, jobs of workspace "alpha"
 * (pending, plan steps, cancelled, running, predecessor records in either
 * schema) are invisible to a key of workspace "beta": 404 on read and cancel
 * with the very body an id that never existed gets, never in beta's list, and
 * untouched in Redis.
 */
const PHASES: [string, Record<string, string>][] = [
  ['phase 0: legacy only', {}],
  ['phase 1: dual-write', { AI_JOBS_NEW_SCHEMA: 'on' }],
  ['phase 2: reads prefer new, fall back to legacy', { AI_JOBS_NEW_SCHEMA: 'on', READ_PREFERS_NEW: 'on' }],
  ['phase 3: reads new only', { AI_JOBS_NEW_SCHEMA: 'on', READ_PREFERS_NEW: 'on', READ_FALLBACK_OLD: 'off' }],
  ['phase 4: legacy writes off', { AI_JOBS_NEW_SCHEMA: 'on', READ_PREFERS_NEW: 'on', READ_FALLBACK_OLD: 'off', AI_JOBS_LEGACY_WRITES: 'off' }],
];

describe.each(PHASES)('workspace isolation, %s', (_phase, env) => {
  let api: ApiHarness;
  let redis: Redis;
  let server: FileRedis;
  let alphaKey: string;
  let betaKey: string;
  const alphaIds: string[] = [];
  /** Alpha's jobs that alpha itself reads in this phase (the 404s for beta are only meaningful for these). */
  const visibleToAlpha: string[] = [];
  const pendingAlphaIds: string[] = [];
  const betaIds: string[] = [];
  /** Alpha's jobs created through the API (predecessor records have no index entry, so are not listed). */
  const indexedAlphaIds: string[] = [];
  const readsLegacy = env.READ_FALLBACK_OLD !== 'off';
  const readsScoped = env.READ_PREFERS_NEW === 'on';

  const predecessorRecord = (jobId: string, workspace: string) => ({
    job_id: jobId, workspace_id: workspace, actor_id: 'old-system', action_provider: 'gmail', action_name: 'send',
    params: '{"to":"x@example.com","password":"p"}', status: 'pending', attempts: '0', result: '', error: '',
    client_request_id: '', created_at: '2025-10-17T10:15:00.000Z', updated_at: '2025-10-17T10:15:00.000Z',
    started_at: '', finished_at: '',
  });
  /** Every Redis key that holds a copy of a job, in either schema, for either workspace. */
  const copiesOf = async (jobId: string) => {
    const candidates = [`ai:jobs:${jobId}`, `ai:job:alpha:${jobId}`, `ai:job:beta:${jobId}`];
    const present: string[] = [];
    for (const key of candidates) if (await redis.exists(key)) present.push(key);
    return present;
  };
  /** Everything of alpha's a beta request could change. */
  const alphaSnapshot = async () => {
    const snapshot: Record<string, unknown> = {};
    for (const id of alphaIds) {
      for (const key of [`ai:jobs:${id}`, `ai:job:alpha:${id}`, `ai:job:beta:${id}`]) {
        // The expiry instant, not the TTL: a TTL ticks down between two snapshots, an instant changes only when something sets it.
        snapshot[key] = { fields: await redis.hgetall(key), expiresAt: await redis.call('PEXPIRETIME', key) };
      }
    }
    for (const key of (await redis.keys('ai:index:alpha*')).sort()) snapshot[key] = await redis.zrange(key, '0', '-1');
    snapshot.queue = await redis.lrange('ai:queue:pending', 0, -1);
    return snapshot;
  };
  const betaList = async (status?: string) => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 100; page++) {
      const qs: URLSearchParams = new URLSearchParams({ limit: '2', ...(status ? { status } : {}), ...(cursor ? { cursor } : {}) });
      const res: Response = await api.http.get(`/ai/jobs?${qs}`).set(bearer(betaKey));
      expect(res.status).toBe(200);
      for (const item of res.body.items as { job_id: string; workspace_id: string }[]) {
        expect(item.workspace_id).toBe('beta');
        seen.push(item.job_id);
      }
      cursor = res.body.next_cursor;
      if (!cursor) return seen;
    }
    throw new Error('beta list did not end within 100 pages');
  };

  beforeAll(async () => {
    server = await fileRedis();
    redis = server.redis;
    api = await startApi(server.url, env);
    alphaKey = await api.key('alpha', ALL_SCOPES, 'agent-a');
    betaKey = await api.key('beta', ALL_SCOPES, 'agent-b');
    const alpha = bearer(alphaKey);

    // Pending jobs, one with a client_request_id.
    for (const body of [
      { action: 'debug.echo', params: { token: 'alpha-secret' } },
      { action: 'debug.echo', params: {}, client_request_id: 'alpha-req-1' },
    ]) {
      const res = await api.http.post('/ai/jobs').set(alpha).send(body);
      expect(res.status).toBe(202);
      alphaIds.push(res.body.job_id);
      pendingAlphaIds.push(res.body.job_id);
      visibleToAlpha.push(res.body.job_id);
    }
    // A plan of three steps.
    const plan = await api.http.post('/ai/plans').set(alpha).send({ steps: [1, 2, 3].map((n) => ({ action: 'debug.echo', params: { n } })) });
    expect(plan.status).toBe(202);
    alphaIds.push(...plan.body.job_ids);
    pendingAlphaIds.push(...plan.body.job_ids);
    visibleToAlpha.push(...plan.body.job_ids);
    // A cancelled job.
    const cancelled = await api.http.post('/ai/jobs').set(alpha).send({ action: 'debug.echo', params: {} });
    expect((await api.http.post(`/ai/jobs/${cancelled.body.job_id}/cancel`).set(alpha)).status).toBe(200);
    alphaIds.push(cancelled.body.job_id);
    visibleToAlpha.push(cancelled.body.job_id);
    // A running job (as a worker would leave it), in every copy it has.
    const running = await api.http.post('/ai/jobs').set(alpha).send({ action: 'debug.sleep', params: { ms: 1 } });
    for (const key of await copiesOf(running.body.job_id)) {
      await redis.hset(key, { status: 'running', started_at: new Date().toISOString(), attempts: '1' });
    }
    alphaIds.push(running.body.job_id);
    visibleToAlpha.push(running.body.job_id);
    indexedAlphaIds.push(...alphaIds);
    // A record of the predecessor system in the legacy schema (no index entry, no Relay fields).
    const legacyId = `legacy-alpha-${randomUUID()}`;
    await redis.hset(`ai:jobs:${legacyId}`, predecessorRecord(legacyId, 'alpha'));
    alphaIds.push(legacyId);
    pendingAlphaIds.push(legacyId);
    if (readsLegacy) visibleToAlpha.push(legacyId);
    // A record present only in the workspace-scoped schema (as backfill or phase 4 leaves them).
    const scopedId = `scoped-alpha-${randomUUID()}`;
    await redis.hset(`ai:job:alpha:${scopedId}`, predecessorRecord(scopedId, 'alpha'));
    alphaIds.push(scopedId);
    pendingAlphaIds.push(scopedId);
    if (readsScoped) visibleToAlpha.push(scopedId);

    // Beta's own jobs, so that beta's list is not trivially empty.
    for (let i = 0; i < 3; i++) betaIds.push((await api.http.post('/ai/jobs').set(bearer(betaKey)).send({ action: 'debug.echo', params: { i } })).body.job_id);
    // A corrupt index: beta's indexes also name every alpha job (as a buggy backfill could). Listing must still filter by workspace.
    for (const id of alphaIds) {
      const member = `2025-10-17T10:15:00.000Z/${id}`;
      for (const status of ['pending', 'running', 'cancelled']) await redis.zadd(`ai:index:beta:status:${status}`, 0, member);
    }
  });
  afterAll(async () => {
    await api?.close();
    await server?.stop();
  });

  it('sets up what it claims: alpha reads its own jobs, with the expected statuses', async () => {
    expect(alphaIds).toHaveLength(9);
    expect(new Set(alphaIds).size).toBe(alphaIds.length);
    expect(visibleToAlpha.length).toBeGreaterThanOrEqual(8);
    for (const id of visibleToAlpha) {
      const res = await api.http.get(`/ai/jobs/${id}`).set(bearer(alphaKey));
      expect({ id, status: res.status, workspace: res.body.workspace_id }).toEqual({ id, status: 200, workspace: 'alpha' });
    }
    const statuses = await Promise.all(visibleToAlpha.map(async (id) => (await api.http.get(`/ai/jobs/${id}`).set(bearer(alphaKey))).body.status));
    expect(new Set(statuses)).toEqual(new Set(['pending', 'cancelled', 'running']));
  });

  it('answers 404 to beta reading any alpha job, with the body of a job that never existed', async () => {
    const requestId = 'iso-read-probe';
    const never = await api.http.get(`/ai/jobs/never-${randomUUID()}`).set(bearer(betaKey)).set('X-Request-Id', requestId);
    expectErrorBody(never, 404);
    for (const id of alphaIds) {
      const res = await api.http.get(`/ai/jobs/${id}`).set(bearer(betaKey)).set('X-Request-Id', requestId);
      expectErrorBody(res, 404, `GET /ai/jobs/${id}`);
      expect({ id, body: { ...res.body, request_id: undefined } }).toEqual({ id, body: { ...never.body, request_id: undefined } });
      expect({ id, text: res.text }).toEqual({ id, text: never.text });
      expect(res.text).not.toContain(id);
      expect(res.text).not.toContain('alpha');
      // A workspace named in a header is not a way in either: the workspace comes from the key only.
      const viaHeader = await api.http.get(`/ai/jobs/${id}`).set(bearer(betaKey)).set('X-Workspace-Id', 'alpha').set('X-Request-Id', requestId);
      expect({ id, status: viaHeader.status, text: viaHeader.text }).toEqual({ id, status: 404, text: never.text });
    }
  });

  it('answers 404 to beta cancelling any alpha job, with the body of a job that never existed, and changes nothing of alpha\'s', async () => {
    const before = await alphaSnapshot();
    const requestId = 'iso-cancel-probe';
    const never = await api.http.post(`/ai/jobs/never-${randomUUID()}/cancel`).set(bearer(betaKey)).set('X-Request-Id', requestId);
    expectErrorBody(never, 404);
    for (const id of alphaIds) {
      const res = await api.http.post(`/ai/jobs/${id}/cancel`).set(bearer(betaKey)).set('X-Request-Id', requestId);
      expectErrorBody(res, 404, `POST /ai/jobs/${id}/cancel`);
      expect({ id, body: { ...res.body, request_id: undefined } }).toEqual({ id, body: { ...never.body, request_id: undefined } });
      expect({ id, text: res.text }).toEqual({ id, text: never.text });
    }
    expect(await alphaSnapshot()).toEqual(before);
    for (const id of pendingAlphaIds) {
      for (const key of await copiesOf(id)) expect({ key, status: await redis.hget(key, 'status'), ttl: await redis.ttl(key) }).toEqual({ key, status: 'pending', ttl: -1 });
    }
    // No copy of an alpha job appeared under beta, and beta's cancelled index gained nothing real.
    for (const id of alphaIds) expect(await redis.exists(`ai:job:beta:${id}`)).toBe(0);
    // Alpha can still cancel its own pending jobs afterwards (they really were pending).
    const visiblePending = pendingAlphaIds.filter((id) => visibleToAlpha.includes(id));
    expect(visiblePending.length).toBeGreaterThan(0);
    const own = await api.http.post(`/ai/jobs/${visiblePending[0]}/cancel`).set(bearer(alphaKey));
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ job_id: visiblePending[0], status: 'cancelled' });
  });

  it('never lists an alpha job to beta, on any page or status filter, even when beta\'s index names them', async () => {
    const all = await betaList();
    expect(all.sort()).toEqual([...betaIds].sort());
    for (const status of ['pending', 'running', 'cancelled', 'succeeded', 'failed']) {
      const listed = await betaList(status);
      for (const id of alphaIds) expect({ status, listed: listed.includes(id) }).toEqual({ status, listed: false });
    }
    // And alpha's list does show alpha's indexed jobs (so the filter is not simply dropping everything).
    const alphaList = await api.http.get('/ai/jobs?limit=100').set(bearer(alphaKey));
    expect(alphaList.status).toBe(200);
    const alphaListed = (alphaList.body.items as { job_id: string }[]).map((i) => i.job_id);
    expect(alphaListed.sort()).toEqual([...indexedAlphaIds].sort());
  });

  it('answers 403, not 404 or 200, when beta claims workspace alpha on a read of an alpha job', async () => {
    for (const id of alphaIds.slice(0, 3)) {
      const res = await api.http.get(`/ai/jobs/${id}?workspace_id=alpha`).set(bearer(betaKey));
      expectErrorBody(res, 403, `GET /ai/jobs/${id}?workspace_id=alpha`);
      expect(res.text).not.toContain(id);
    }
    expectErrorBody(await api.http.get('/ai/jobs?workspace_id=alpha').set(bearer(betaKey)), 403);
  });
});
