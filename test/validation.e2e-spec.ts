import fc from 'fast-check';
import type { Redis } from 'ioredis';
import type { Response } from 'supertest';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * SPEC section 4 (Errors, Validation): every invalid input is a 4xx in
 * Relay's error shape, with field-level messages naming the field; nothing
 * a client sends yields a 5xx or leaks a stack, a Redis error text or the
 * driver's name.
 */

const PARAMS_MAX_BYTES = 1024;
const BODY_MAX_BYTES = 2048;

/** Markers that must never reach a client. */
const LEAK_MARKERS = ['stack', 'WRONGTYPE', 'ERR ', 'ioredis'];
/** A stack frame line: "at fn (file:line:col)" or "at file:line:col". */
const STACK_FRAME = /\bat (?:[^\s()]+ )?\(?(?:file:\/\/|node:|\/)[^\s()]*:\d+:\d+\)?/;

function expectErrorShape(res: Response, status: number): void {
  expect({ status: res.status, type: res.headers['content-type'] }).toEqual({ status, type: expect.stringMatching(/^application\/json/) });
  expect(res.body).toEqual({
    statusCode: status,
    error: expect.any(String),
    message: expect.anything(),
    request_id: expect.any(String),
  });
  expect(res.body.request_id.length).toBeGreaterThan(0);
  expect(res.headers['x-request-id']).toBe(res.body.request_id);
  const message = res.body.message as unknown;
  expect(typeof message === 'string' || (Array.isArray(message) && message.every((m) => typeof m === 'string'))).toBe(true);
  expectNoLeak(res.text);
}

/** 400 in Relay's shape whose message names `field`. */
function expect400Naming(res: Response, field: string | RegExp): void {
  expectErrorShape(res, 400);
  const text = JSON.stringify(res.body.message);
  if (typeof field === 'string') expect(text).toContain(field);
  else expect(text).toMatch(field);
}

function expectNoLeak(text: string): void {
  for (const marker of LEAK_MARKERS) expect(text).not.toContain(marker);
  expect(text).not.toMatch(STACK_FRAME);
}

/** A JSON body of `depth` nested arrays around a value, as raw text. */
function nestedArrays(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

describe('validation: every invalid input is a 4xx with field-level messages, never a 5xx', () => {
  let redis: Redis;
  let server: FileRedis;
  let api: ApiHarness;
  let small: ApiHarness; // PARAMS_MAX_BYTES=1024, BODY_MAX_BYTES=2048
  let key: string;
  let smallKey: string;
  const auth = () => ({ Authorization: `Bearer ${key}` });
  const smallAuth = () => ({ Authorization: `Bearer ${smallKey}` });
  const submit = (body: unknown) => api.http.post('/ai/jobs').set(auth()).send(body as object);

  beforeAll(async () => {
    server = await fileRedis();
    redis = server.redis;
    api = await startApi(server.url);
    small = await startApi(server.url, { PARAMS_MAX_BYTES: String(PARAMS_MAX_BYTES), BODY_MAX_BYTES: String(BODY_MAX_BYTES) });
    key = await api.key('val-ws');
    smallKey = await small.key('val-ws');
  });
  afterAll(async () => {
    await api?.close();
    await small?.close();
    await server?.stop();
  });

  it('accepts a valid submit (the baseline the invalid cases differ from)', async () => {
    const res = await submit({ action: 'debug.echo', params: { a: 1 } });
    expect(res.status).toBe(202);
  });

  describe('POST /ai/jobs body fields', () => {
    it.each([['Debug.echo'], ['debug'], ['debug.'], ['1x.y'], ['debug.echo.x'], ['.echo'], ['debug-x.echo'], ['']])(
      'refuses action %j with 400 naming "action"',
      async (action) => {
        expect400Naming(await submit({ action, params: {} }), 'action');
      },
    );

    it('refuses a numeric action (42) with 400 naming "action"', async () => {
      expect400Naming(await submit({ action: 42, params: {} }), 'action');
    });

    it('refuses a missing action with 400 naming "action"', async () => {
      expect400Naming(await submit({ params: {} }), 'action');
    });

    it.each([
      ['an array', [1, 2]],
      ['a string', 'text'],
      ['null', null],
      ['a number', 7],
      ['a boolean', true],
    ])('refuses params that is %s with 400 naming "params"', async (_label, params) => {
      expect400Naming(await submit({ action: 'debug.echo', params }), 'params');
    });

    it(`refuses params over PARAMS_MAX_BYTES (${PARAMS_MAX_BYTES}) with 400 naming "params", and accepts params just under it`, async () => {
      const over = await small.http.post('/ai/jobs').set(smallAuth()).send({ action: 'debug.echo', params: { blob: 'x'.repeat(PARAMS_MAX_BYTES) } });
      expect400Naming(over, 'params');
      expect(JSON.stringify(over.body.message)).toContain(String(PARAMS_MAX_BYTES));
      const under = await small.http.post('/ai/jobs').set(smallAuth()).send({ action: 'debug.echo', params: { blob: 'x'.repeat(PARAMS_MAX_BYTES - 100) } });
      expect(under.status).toBe(202);
    });

    it('refuses params over PARAMS_MAX_DEPTH (default 8) with 400 naming "params", and accepts depth 8', async () => {
      let tooDeep: Record<string, unknown> = {};
      for (let i = 0; i < 9; i++) tooDeep = { a: tooDeep }; // depth 10
      expect400Naming(await submit({ action: 'debug.echo', params: tooDeep }), 'params');
      let ok: Record<string, unknown> = {};
      for (let i = 0; i < 7; i++) ok = { a: ok }; // depth 8
      expect((await submit({ action: 'debug.echo', params: ok })).status).toBe(202);
    });

    it('refuses an unknown body field ("foo") with 400 naming it', async () => {
      expect400Naming(await submit({ action: 'debug.echo', params: {}, foo: 1 }), 'foo');
    });

    it.each([[''], ['has space'], ['x'.repeat(129)], ['semi;colon'], ['é']])(
      'refuses client_request_id %j with 400 naming "client_request_id"',
      async (crid) => {
        expect400Naming(await submit({ action: 'debug.echo', params: {}, client_request_id: crid }), 'client_request_id');
      },
    );

    it('refuses a numeric client_request_id with 400 naming "client_request_id"', async () => {
      expect400Naming(await submit({ action: 'debug.echo', params: {}, client_request_id: 42 }), 'client_request_id');
    });

    it('refuses a bad Idempotency-Key header with 400 naming the header', async () => {
      const res = await api.http.post('/ai/jobs').set(auth()).set('Idempotency-Key', 'bad key!').send({ action: 'debug.echo', params: {} });
      expect400Naming(res, 'Idempotency-Key');
    });

    it('refuses a run_at that is not ISO 8601 with a zone, a delay_ms that is not a whole number ≥ 0, or both fields, naming them', async () => {
      expect400Naming(await submit({ action: 'debug.echo', run_at: '2026-11-29 12:00' }), 'run_at must be an ISO 8601 date-time with a time zone');
      expect400Naming(await submit({ action: 'debug.echo', delay_ms: -5 }), 'delay_ms must be a whole number of milliseconds, 0 or more');
      expect400Naming(await submit({ action: 'debug.echo', delay_ms: 1e300 }), 'delay_ms must be a whole number of milliseconds');
      expect400Naming(await submit({ action: 'debug.echo', run_at: '2026-11-29T12:00:00Z', delay_ms: 0 }), 'delay_ms must not be sent together with run_at');
      expect400Naming(await submit({ action: 'debug.echo', run_at: '9999-12-31T23:59:59Z' }), /run_at must be at most \d+ ms, JOB_DELAY_MAX_MS/);
      // The earliest instant ISO 8601's four-digit years name: long past, so queued now.
      const ancient = await submit({ action: 'debug.echo', run_at: '0000-01-01T00:00:00Z' });
      expect(ancient.status).toBe(202);
      expect((await api.http.get(`/ai/jobs/${ancient.body.job_id}`).set(auth())).body.run_at).toBe('0000-01-01T00:00:00.000Z');
    });

    it('lists every invalid field at once (field-level messages)', async () => {
      const res = await submit({ action: 'Nope', params: [], client_request_id: '', foo: 1 });
      expectErrorShape(res, 400);
      const text = JSON.stringify(res.body.message);
      for (const field of ['action', 'params', 'client_request_id', 'foo']) expect(text).toContain(field);
    });

    it('refuses a body that is a JSON array or empty object with 400, not 500', async () => {
      expect400Naming(await api.http.post('/ai/jobs').set(auth()).set('Content-Type', 'application/json').send('[]'), 'action');
      expect400Naming(await api.http.post('/ai/jobs').set(auth()).set('Content-Type', 'application/json').send('{}'), 'action');
    });

    it('refuses a submit with no body at all with 400, not 500', async () => {
      const res = await api.http.post('/ai/jobs').set(auth());
      expect400Naming(res, 'action');
    });
  });

  // Plans are validated by PlanBodyPipe (shallow, steps checked by IsPlanSteps), not the global pipe.
  describe('POST /ai/plans body fields', () => {
    const plan = (body: unknown) => api.http.post('/ai/plans').set(auth()).send(body as object);
    const ok = { action: 'debug.echo', params: { a: 1 } };

    it('names the step and the field of every bad step, and writes nothing', async () => {
      const before = await redis.llen('ai:queue:pending');
      const res = await plan({ steps: [ok, { action: 'Nope' }, { action: 'debug.echo', params: [1] }, { action: 'debug.echo', extra: 1 }, 'debug.echo'] });
      expect400Naming(res, 'steps.1.action must be');
      const text = JSON.stringify(res.body.message);
      for (const part of ['steps.2.params must be a JSON object', 'steps.3.property extra should not exist', 'steps.4 must be either object or array']) {
        expect(text).toContain(part);
      }
      expect(text).not.toContain('steps.0');
      expect(await redis.llen('ai:queue:pending')).toBe(before);
    });

    it('refuses steps that are missing, empty or not an array, and unknown or ill-typed top-level fields', async () => {
      expect400Naming(await plan({}), 'steps');
      expect400Naming(await plan({ steps: [] }), 'steps');
      expect400Naming(await plan({ steps: ok }), 'steps');
      expect400Naming(await plan({ steps: [ok], foo: 1 }), 'property foo should not exist');
      expect400Naming(await plan({ steps: [ok], client_request_id: 'bad key!' }), 'client_request_id');
      expect400Naming(await api.http.post('/ai/plans').set(auth()).set('Content-Type', 'application/json').send('[]'), 'JSON object');
      expect400Naming(await api.http.post('/ai/plans').set(auth()), 'steps');
    });

    it('refuses step params over PARAMS_MAX_BYTES naming the step, and accepts a valid plan', async () => {
      const big = { action: 'debug.echo', params: { blob: 'x'.repeat(PARAMS_MAX_BYTES) } };
      const res = await small.http.post('/ai/plans').set(smallAuth()).send({ steps: [{ action: 'debug.echo' }, big] });
      expect400Naming(res, 'steps[1].params must be at most');
      const accepted = await plan({ steps: [ok, { action: 'debug.echo' }] });
      expect(accepted.status).toBe(202);
      expect(accepted.body.job_ids).toHaveLength(2);
    });
  });

  describe('GET /ai/jobs query', () => {
    const list = (query: string) => api.http.get(`/ai/jobs?${query}`).set(auth());

    it.each([['limit=0'], ['limit=101'], ['limit=abc'], ['limit=1.5'], ['limit=-1'], ['limit='], ['limit=1&limit=2']])(
      'refuses %s with 400 naming "limit"',
      async (query) => {
        expect400Naming(await list(query), 'limit');
      },
    );

    it('accepts limit=1 and limit=100', async () => {
      expect((await list('limit=1')).status).toBe(200);
      expect((await list('limit=100')).status).toBe(200);
    });

    it.each([['status=bogus'], ['status=PENDING'], ['status=']])('refuses %s with 400 naming "status"', async (query) => {
      expect400Naming(await list(query), 'status');
    });

    const randomTextCursor = Buffer.from('this is just some random text, not a cursor', 'utf8').toString('base64url');
    const wrongVersionCursor = Buffer.from('c0.2025-10-17T10:15:00.000Z/job-1', 'utf8').toString('base64url');
    const rightVersionBadMember = Buffer.from('c1.not-a-member', 'utf8').toString('base64url');
    it.each([
      ['!!!', '!!!'],
      ['abc', 'abc'],
      ['base64url of random text', randomTextCursor],
      ['base64url with a wrong version tag', wrongVersionCursor],
      ['base64url with the version tag but no index member', rightVersionBadMember],
      ['a 401-character cursor', 'A'.repeat(401)],
      ['a cursor with a NUL', '%00'],
    ])('refuses a malformed cursor (%s) with 400 naming "cursor", never 500', async (_label, cursor) => {
      const encoded = cursor === '%00' ? cursor : encodeURIComponent(cursor);
      expect400Naming(await list(`cursor=${encoded}`), 'cursor');
    });

    it('treats an empty cursor (cursor=) as a first page or refuses it, never 500', async () => {
      const res = await list('cursor=');
      expect([200, 400]).toContain(res.status);
      if (res.status === 400) expect400Naming(res, 'cursor');
    });

    it('refuses a repeated cursor parameter with 400, not 500', async () => {
      expect400Naming(await list('cursor=abc&cursor=def'), 'cursor');
    });

    it('accepts a cursor the API issued', async () => {
      await submit({ action: 'debug.echo', params: {} });
      await submit({ action: 'debug.echo', params: {} });
      const first = await list('limit=1');
      expect(first.status).toBe(200);
      expect(first.body.next_cursor).toEqual(expect.any(String));
      const second = await list(`limit=1&cursor=${encodeURIComponent(first.body.next_cursor)}`);
      expect(second.status).toBe(200);
    });

    it.each([['foo=1'], ['offset=10'], ['page=2&limit=10']])('refuses an unknown query parameter (%s) with 400 naming it', async (query) => {
      const name = query.split('=')[0];
      expect400Naming(await list(query), name);
    });
  });

  describe('job id in the path', () => {
    it.each([['%20x'], ['a*b'], ['a%2Fb'], ['%00'], ['x'.repeat(129)], ['a%3Ab'], ['%C3%A9']])(
      'refuses GET /ai/jobs/%s with 400 naming "id"',
      async (id) => {
        expect400Naming(await api.http.get(`/ai/jobs/${id}`).set(auth()), /\bid\b/);
      },
    );

    it.each([['%20x'], ['a*b']])('refuses POST /ai/jobs/%s/cancel with 400 naming "id"', async (id) => {
      expect400Naming(await api.http.post(`/ai/jobs/${id}/cancel`).set(auth()), /\bid\b/);
    });

    it('answers 400 (not 500) for a malformed percent-encoding in the id', async () => {
      const res = await api.http.get('/ai/jobs/%E0%A4%A').set(auth());
      expectErrorShape(res, 400);
    });
  });

  describe('bodies that are not (acceptable) JSON', () => {
    it('answers 400 for malformed JSON text sent as application/json', async () => {
      for (const text of ['{"action": "debug.echo", ', '{action: debug.echo}', "{'a': 1}", 'nul', '{"a":1}}']) {
        const res = await api.http.post('/ai/jobs').set(auth()).set('Content-Type', 'application/json').send(text);
        expectErrorShape(res, 400);
        expect(res.body.message).toMatch(/JSON/);
      }
    });

    it('answers 400 for a JSON scalar body (strict JSON: objects and arrays only)', async () => {
      for (const text of ['"debug.echo"', '42', 'null', 'true']) {
        const res = await api.http.post('/ai/jobs').set(auth()).set('Content-Type', 'application/json').send(text);
        expectErrorShape(res, 400);
      }
    });

    it('answers 415 for a body with Content-Type text/plain', async () => {
      const res = await api.http.post('/ai/jobs').set(auth()).set('Content-Type', 'text/plain').send(JSON.stringify({ action: 'debug.echo', params: {} }));
      expectErrorShape(res, 415);
    });

    it('answers 415 for a form-encoded body and for a body without Content-Type', async () => {
      const form = await api.http.post('/ai/jobs').set(auth()).type('form').send('action=debug.echo');
      expectErrorShape(form, 415);
      const bare = await api.http.post('/ai/jobs').set(auth()).set('Content-Type', '').send(Buffer.from('{"action":"debug.echo"}'));
      expect([400, 415]).toContain(bare.status);
      expectErrorShape(bare, bare.status);
    });

    it(`answers 413 for a body over BODY_MAX_BYTES (${BODY_MAX_BYTES})`, async () => {
      const body = JSON.stringify({ action: 'debug.echo', params: { blob: 'x'.repeat(BODY_MAX_BYTES + 100) } });
      const res = await small.http.post('/ai/jobs').set(smallAuth()).set('Content-Type', 'application/json').send(body);
      expectErrorShape(res, 413);
    });

    /** 400 for an over-deep body: the message names params or says the body is nested too deeply. */
    const expectTooDeep = (res: Response) => {
      expectErrorShape(res, 400);
      expect(JSON.stringify(res.body.message)).toMatch(/params|body|deep|nest/i);
    };

    it('answers 400 (not 500) for extremely deep JSON within the size limit: 50k nested arrays as the body', async () => {
      const text = nestedArrays(50_000);
      expect(text.length).toBeLessThan(262144);
      const res = await api.http.post('/ai/jobs').set(auth()).set('Content-Type', 'application/json').send(text);
      expectTooDeep(res);
    });

    it('answers 400 (not 500) for extremely deep JSON within the size limit: 50k nested arrays as params', async () => {
      const text = `{"action":"debug.echo","params":{"deep":${nestedArrays(50_000)}}}`;
      const res = await api.http.post('/ai/jobs').set(auth()).set('Content-Type', 'application/json').send(text);
      expectTooDeep(res);
    });

    it('answers 400 (not 500) for 40k nested objects as params', async () => {
      const text = `{"action":"debug.echo","params":${'{"a":'.repeat(40_000)}1${'}'.repeat(40_000)}}`;
      expect(text.length).toBeLessThan(262144);
      const res = await api.http.post('/ai/jobs').set(auth()).set('Content-Type', 'application/json').send(text);
      expectTooDeep(res);
    });

    it('answers 400 (not 500) for 50k nested arrays as a plan step params', async () => {
      const text = `{"steps":[{"action":"debug.echo","params":{"deep":${nestedArrays(50_000)}}}]}`;
      const res = await api.http.post('/ai/plans').set(auth()).set('Content-Type', 'application/json').send(text);
      expectTooDeep(res);
    });

    it('a body with __proto__ or constructor keys does not pollute prototypes and never yields a 5xx', async () => {
      for (const text of [
        '{"action":"debug.echo","params":{},"__proto__":{"polluted":"yes"}}',
        '{"action":"debug.echo","params":{"__proto__":{"polluted":"yes"}}}',
        '{"action":"debug.echo","params":{},"constructor":{"prototype":{"polluted":"yes"}}}',
      ]) {
        const res = await api.http.post('/ai/jobs').set(auth()).set('Content-Type', 'application/json').send(text);
        expect(res.status).toBeLessThan(500);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
      }
    });

    it('refuses keys naming a prototype anywhere in params, on both routes, with 400 naming the key; nothing is stored', async () => {
      const before = await redis.llen('ai:queue:pending');
      for (const key of ['__proto__', 'constructor', 'prototype']) {
        const params = `{"a":{"b":[{${JSON.stringify(key)}:{"polluted":"yes"}}]}}`;
        const job = await api.http.post('/ai/jobs').set(auth()).set('Content-Type', 'application/json').send(`{"action":"debug.echo","params":${params}}`);
        expect400Naming(job, `property ${key} should not exist`);
        const plan = await api.http.post('/ai/plans').set(auth()).set('Content-Type', 'application/json').send(`{"steps":[{"action":"debug.echo"},{"action":"debug.echo","params":${params}}]}`);
        expect400Naming(plan, `property ${key} should not exist`);
      }
      expect(await redis.llen('ai:queue:pending')).toBe(before);
    });

    it('refuses unknown fields named after Object.prototype members (hasOwnProperty, toString) at the top level and in steps, on both routes', async () => {
      for (const field of ['hasOwnProperty', 'toString', 'isPrototypeOf']) {
        expect400Naming(await submit({ action: 'debug.echo', params: {}, [field]: 1 }), `property ${field} should not exist`);
        const plan = (body: object) => api.http.post('/ai/plans').set(auth()).send(body);
        expect400Naming(await plan({ steps: [{ action: 'debug.echo' }], [field]: 1 }), `property ${field} should not exist`);
        expect400Naming(await plan({ steps: [{ action: 'debug.echo', [field]: 1 }] }), `property ${field} should not exist`);
      }
      // As data inside params they are ordinary keys.
      expect((await submit({ action: 'debug.echo', params: { toString: 'fine', hasOwnProperty: 1 } })).status).toBe(202);
    });

    it.each([['__proto__'], ['constructor']])('refuses the unknown body field %s with 400 naming it (unknown fields are rejected)', async (field) => {
      const res = await api.http
        .post('/ai/jobs')
        .set(auth())
        .set('Content-Type', 'application/json')
        .send(`{"action":"debug.echo","params":{},${JSON.stringify(field)}:{"x":1}}`);
      expect400Naming(res, field);
    });
  });

  describe('property-based: no input yields a 5xx or leaks internals', () => {
    const containsMarker = (text: string) => {
      const lower = text.toLowerCase();
      return LEAK_MARKERS.some((m) => lower.includes(m.toLowerCase())) || /\bat /.test(text);
    };

    function expectSafe(res: Response): void {
      expect(res.status).toBeLessThan(500);
      expectNoLeak(res.text);
      if (res.status >= 400) {
        expect(res.body).toEqual({ statusCode: res.status, error: expect.any(String), message: expect.anything(), request_id: expect.any(String) });
      }
    }

    // run_at / delay_ms: every kind of date-time text, past, near and far beyond the horizon, and numbers of every size.
    const delayValue = fc.oneof(
      fc.date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString()),
      fc.integer({ min: -3_600_000, max: 3_600_000 }).map((ms) => new Date(Date.now() + ms).toISOString().replace('Z', '+00:00')),
      fc.oneof(fc.nat(), fc.integer(), fc.double(), fc.constantFrom(0, 2_592_000_000, 2_592_000_001, Number.MAX_SAFE_INTEGER, 1e300)),
      fc.jsonValue(),
    );

    it('random JSON values as POST /ai/jobs and /ai/plans bodies', async () => {
      const bodies = fc.oneof(
        fc.jsonValue(),
        fc.record(
          {
            action: fc.oneof(fc.string(), fc.constantFrom('debug.echo', 'Debug.echo', 'a.b', 'x'), fc.jsonValue()),
            params: fc.oneof(fc.jsonValue(), fc.dictionary(fc.string(), fc.jsonValue())),
            client_request_id: fc.oneof(fc.string(), fc.jsonValue()),
            steps: fc.oneof(fc.jsonValue(), fc.array(fc.jsonValue()), fc.array(fc.record({ action: fc.constant('debug.echo'), run_at: delayValue, delay_ms: delayValue }, { requiredKeys: [] }))),
            workspace_id: fc.oneof(fc.constant('val-ws'), fc.string()),
            run_at: delayValue,
            delay_ms: delayValue,
          },
          { requiredKeys: [] },
        ),
      );
      await fc.assert(
        fc.asyncProperty(bodies, fc.constantFrom('/ai/jobs', '/ai/plans'), async (body, path) => {
          const text = JSON.stringify(body) ?? 'null';
          fc.pre(!containsMarker(text));
          const res = await api.http.post(path).set(auth()).set('Content-Type', 'application/json').send(text);
          expectSafe(res);
        }),
        { numRuns: 150 },
      );
    });

    it('random strings as POST /ai/jobs bodies (application/json and other types)', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.json()),
          fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/merge-patch+json'),
          async (text, type) => {
            fc.pre(!containsMarker(text));
            const res = await api.http.post('/ai/jobs').set(auth()).set('Content-Type', type).send(text);
            expectSafe(res);
          },
        ),
        { numRuns: 150 },
      );
    });

    it('random query strings for GET /ai/jobs', async () => {
      const name = fc.oneof(fc.constantFrom('limit', 'cursor', 'status', 'workspace_id', 'foo', 'limit[]', 'cursor[a]', '__proto__', 'constructor'), fc.string());
      const value = fc.oneof(
        fc.constantFrom('0', '1', '50', '100', '101', '1.5', '-1', 'abc', 'pending', 'bogus', 'val-ws', '', '!!!', '1e2', '0x10', ' 5'),
        fc.string(),
        fc.string({ unit: 'binary' }),
        fc.base64String(),
        fc.string().map((s) => Buffer.from(s, 'utf8').toString('base64url')),
        fc.string().map((s) => Buffer.from(`c1.${s}`, 'utf8').toString('base64url')),
      );
      const pair = fc.tuple(name, value, fc.boolean()).map(([n, v, raw]) =>
        raw ? `${n.replace(/[^\x21-\x7e]|[#&=]/g, '')}=${v.replace(/[^\x21-\x7e]|[#&]/g, '')}` : `${encodeURIComponent(n)}=${encodeURIComponent(v)}`,
      );
      const query = fc.array(pair, { maxLength: 5 }).map((pairs) => pairs.join('&'));
      await fc.assert(
        fc.asyncProperty(query, async (qs) => {
          fc.pre(!containsMarker(decodeURIComponentSafe(qs)));
          const res = await api.http.get(`/ai/jobs?${qs}`).set(auth());
          expectSafe(res);
        }),
        { numRuns: 150 },
      );
    });
  });
});

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
