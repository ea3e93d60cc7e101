import 'reflect-metadata';
import { STATUS_CODES } from 'node:http';
import { PATH_METADATA, METHOD_METADATA } from '@nestjs/common/constants.js';
import { RequestMethod } from '@nestjs/common';
import type { Response } from 'supertest';
import { ApiKeyStore, parseKeyId } from '@relay/auth';
import { RedisKeys } from '@relay/redis';
import { ConsoleApiController } from '../apps/api/src/console/console-api.controller.js';
import { JobsController } from '../apps/api/src/jobs/jobs.controller.js';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { runRelay } from './support/cli-runner.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * Who may use the operator console (README "Operator console"), on the real
 * API and a real Redis: operator keys come only from `relay keys create
 * --operator`; a tenant key is 403 on every /console/api route; an operator
 * key is 403 on every tenant route; the page itself is public and holds
 * nothing. Also what the console's data routes answer an operator.
 */
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

/** Every (method, path) a controller declares, from Nest's route metadata, with `:params` filled in. */
function routes(controller: abstract new (...args: never[]) => unknown): { method: 'get' | 'post'; path: string }[] {
  const base = Reflect.getMetadata(PATH_METADATA, controller) as string;
  const proto = controller.prototype as Record<string, unknown>;
  return Object.getOwnPropertyNames(proto).flatMap((name) => {
    const handler = proto[name];
    if (name === 'constructor' || typeof handler !== 'function') return [];
    const path = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
    if (path === undefined) return [];
    const method = Reflect.getMetadata(METHOD_METADATA, handler) === RequestMethod.POST ? 'post' : 'get';
    const filled = `/${base}/${path}`.replace(/\/+/g, '/').replace(/\/$/, '').replace(':workspace', 'alpha').replace(':id', 'job-1');
    return [{ method, path: filled }];
  });
}

function expectError(res: Response, status: number, label: string): void {
  expect({ label, status: res.status }).toEqual({ label, status });
  expect(res.body).toEqual({ statusCode: status, error: STATUS_CODES[status], message: expect.any(String), request_id: res.headers['x-request-id'] });
}

describe('operator console: keys and access', () => {
  let server: FileRedis;
  let api: ApiHarness;
  let operatorKey: string;
  let tenantKey: string;
  const relay = (...argv: string[]) => runRelay({ REDIS_URL: server.url }, argv);

  beforeAll(async () => {
    server = await fileRedis();
    api = await startApi(server.url, { RATE_LIMIT_MAX: '0' });
  });
  beforeEach(async () => {
    await server.redis.flushdb();
    operatorKey = (await api.app.get(ApiKeyStore).createOperator('ops-ann')).key;
    tenantKey = await api.key('alpha', ['actions:execute', 'actions:preview'], 'agent-a');
  });
  afterAll(async () => {
    await api?.close();
    await server?.stop();
  });

  const app = () => api.app;

  it('every /console/api route: 401 without a key, 403 with a tenant key (audited, nothing done), served to the operator key', async () => {
    const consoleRoutes = routes(ConsoleApiController);
    expect(consoleRoutes.length).toBe(6);
    // A dead letter that a tenant's requeue must not touch.
    await server.redis.lpush(RedisKeys.deadLetters, 'alpha:job-1');
    for (const { method, path } of consoleRoutes) {
      expectError(await api.http[method](path), 401, `${method} ${path} without key`);
      const requestId = `tenant-${method}-${path.replace(/\W/g, '-')}`;
      const refused = await api.http[method](path).set(bearer(tenantKey)).set('X-Request-Id', requestId);
      expectError(refused, 403, `${method} ${path} tenant key`);
      expect(refused.body.message).toBe('API key lacks scope relay:operator');
      expect(api.logs.lines.some((l) => l.includes(requestId) && l.includes('SecurityAudit') && l.includes('"missing_scopes":["relay:operator"]'))).toBe(true);
      const served = await api.http[method](path).set(bearer(operatorKey));
      expect({ path, status: [401, 403].includes(served.status) }).toEqual({ path, status: false });
    }
    // The operator's requeue of that entry did run (the record is absent, so the entry was dropped: 410).
    expect(await server.redis.llen(RedisKeys.deadLetters)).toBe(0);
  });

  it('the operator key gets 403 on every tenant route (/ai/...), and nothing is written', async () => {
    const tenantRoutes = routes(JobsController);
    expect(tenantRoutes.length).toBe(5);
    for (const { method, path } of tenantRoutes) {
      const res = await api.http[method](path).set(bearer(operatorKey)).send(method === 'post' ? { action: 'debug.echo', params: {}, steps: undefined } : undefined);
      expectError(res, 403, `${method} ${path} operator key`);
      expect(res.body.message).toMatch(/^API key lacks scope actions:(execute|preview)$/);
    }
    expect(await server.redis.keys('ai:job*')).toEqual([]);
    expect(await server.redis.keys('ai:index:*')).toEqual([]);
  });

  it('a key record edited by hand to mix realms gets neither: tenant scopes on an operator key, the operator scope on a tenant key', async () => {
    await server.redis.hset(RedisKeys.apiKey(parseKeyId(operatorKey)!), 'scopes', 'relay:operator,actions:execute,actions:preview');
    await server.redis.hset(RedisKeys.apiKey(parseKeyId(tenantKey)!), 'scopes', 'actions:execute,actions:preview,relay:operator');
    expectError(await api.http.get('/ai/jobs').set(bearer(operatorKey)), 403, 'operator key on /ai/jobs');
    expectError(await api.http.post('/ai/jobs').set(bearer(operatorKey)).send({ action: 'debug.echo' }), 403, 'operator key submits');
    expectError(await api.http.get('/console/api/overview').set(bearer(operatorKey)), 403, 'mixed operator key on the console');
    expectError(await api.http.get('/console/api/overview').set(bearer(tenantKey)), 403, 'tenant key with relay:operator');
    expectError(await api.http.get('/ai/jobs').set(bearer(tenantKey)), 403, 'mixed tenant key on /ai/jobs');
  });

  it('the page and its files are public, same-origin only (a CSP without inline script or other hosts), and hold no key', async () => {
    for (const [path, type] of [['/console', /^text\/html/], ['/console/console.js', /^text\/javascript/], ['/console/console-view.js', /^text\/javascript/], ['/console/console.css', /^text\/css/]] as const) {
      const res = await api.http.get(path);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      expect(res.headers['content-type']).toMatch(type);
      expect(res.headers['content-security-policy']).toContain("default-src 'none'; script-src 'self'");
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      // Nothing is loaded from another host, and no key ships in the files.
      expect(res.text).not.toMatch(/https?:\/\//);
      expect(res.text).not.toMatch(/rly_[a-f0-9]{16}_/);
    }
    const scripts = (await api.http.get('/console/console.js')).text + (await api.http.get('/console/console-view.js')).text;
    // Tenant data is written as text, never parsed as HTML.
    expect(scripts).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    expect(scripts).toContain('sessionStorage');
    expect(scripts).not.toMatch(/localStorage/);
    // Only the page's own files are served, by name.
    for (const path of ['/console/index.html', '/console/package.json', '/console/..%2F..%2Fpackage.json', '/console/assets%2Fconsole.js', '/console/constructor']) {
      expectError(await api.http.get(path), 404, path);
    }
  });
  // Last: the CLI runs in-process, and its Nest context then takes over the static loggers the audit test reads.
  it('relay keys create --operator makes a key with scope relay:operator under the reserved workspace _operator, listed by keys list --operator', async () => {
    const created = await relay('keys', 'create', '--operator', '--json');
    expect(created.code).toBe(0);
    const key = JSON.parse(created.out[0]);
    expect(key).toEqual({ key: expect.stringMatching(/^rly_[a-f0-9]{16}_/), key_id: parseKeyId(key.key), workspace_id: '_operator', actor_id: `key-${key.key_id}`, scopes: ['relay:operator'] });
    const listed = await relay('keys', 'list', '--operator', '--json');
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.out[0]).map((r: { key_id: string }) => r.key_id)).toContain(key.key_id);
    // A tenant's listing never shows operator keys.
    expect(JSON.parse((await relay('keys', 'list', '--workspace', 'alpha', '--json')).out[0]).map((r: { scopes: string[] }) => r.scopes)).toEqual([['actions:execute', 'actions:preview']]);
  });

  it('a tenant key can never get the operator scope, nor the reserved workspace; --operator takes no workspace or scopes (exit 2)', async () => {
    const refusals = [
      ['keys', 'create', '--workspace', 'alpha', '--scopes', 'relay:operator'],
      ['keys', 'create', '--workspace', 'alpha', '--scopes', 'actions:preview,relay:operator'],
      ['keys', 'create', '--workspace', '_operator', '--scopes', 'actions:preview'],
      ['keys', 'create', '--operator', '--workspace', 'alpha'],
      ['keys', 'create', '--operator', '--scopes', 'actions:preview'],
      ['keys', 'create', '--workspace', 'alpha'],
    ];
    for (const argv of refusals) {
      const run = await relay(...argv);
      expect({ argv, code: run.code }).toEqual({ argv, code: 2 });
    }
    expect((await relay(...refusals[0])).err.join('\n')).toMatch(/relay:operator is only given by keys create --operator/);
    await expect(app().get(ApiKeyStore).create({ workspaceId: 'alpha', scopes: ['relay:operator'] })).rejects.toThrow(/relay:operator/);
    // Only the two keys of beforeEach exist.
    expect((await server.redis.keys(RedisKeys.apiKey('*'))).length).toBe(2);
  });
});
