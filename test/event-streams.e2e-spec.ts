import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { parseKeyId } from '@relay/auth';
import { EventHub } from '@relay/queue';
import { createWorkerApp } from '../apps/worker/src/worker.app.js';
import { BUILT_INS, CapturingLogger, startApi, type ApiHarness } from './support/api-harness.js';
import { expectEventually } from './support/expect-eventually.js';
import { fileRedis, type FileRedis } from './support/redis.js';
import { openSse, type SseConnection } from './support/sse-client.js';

/**
 * Issue 15, points 2 and 3 (the SSE routes), end to end: two API replicas
 * listening on ports, a real worker running real jobs, one Redis. Events
 * are what the scripts append (never written by hand here): resume with
 * Last-Event-ID on the other replica while jobs keep finishing, filters,
 * the job stream and its end, 404s, a reset after the length cap trimmed
 * a client's position, heartbeats, the open-stream cap across replicas.
 * the end of every stream when a replica shuts down. GET ?wait=N:
 * job-wait.e2e-spec.ts.
 */

interface Replica {
  api: ApiHarness;
  port: number;
}

const CAP = 5;
const API_ENV = { SSE_HEARTBEAT_MS: '200', SSE_MAX_STREAMS_PER_KEY: String(CAP), HTTP_REQUEST_TIMEOUT_MS: '1000', HTTP_HEADERS_TIMEOUT_MS: '1000', RATE_LIMIT_MAX: '0' };

describe('Server-Sent Events: GET /ai/events and GET /ai/jobs/{id}/events', () => {
  let server: FileRedis;
  let a: Replica;
  let b: Replica;
  /** Not listening: submits with EVENTS_MAX_LEN=10, so its appends trim the stream (the reset test). */
  let trimming: ApiHarness;
  let worker: INestApplication;
  let key: string;
  const open: SseConnection[] = [];

  async function replica(): Promise<Replica> {
    const api = await startApi(server.url, API_ENV);
    await api.app.listen(0, '127.0.0.1');
    return { api, port: ((api.app.getHttpServer() as Server).address() as AddressInfo).port };
  }
  const auth = (k = key) => ({ Authorization: `Bearer ${k}` });
  async function sse(on: Replica, path: string, headers: Record<string, string> = auth()): Promise<SseConnection> {
    const connection = await openSse(on.port, path, headers);
    open.push(connection);
    return connection;
  }
  async function submit(body: Record<string, unknown>, k = key): Promise<string> {
    const res = await a.api.http.post('/ai/jobs').set(auth(k)).send(body);
    expect(res.status).toBe(202);
    return res.body.job_id;
  }
  async function plan(steps: number, on = a.api, k = key): Promise<string[]> {
    const res = await on.http.post('/ai/plans').set(auth(k)).send({ steps: Array.from({ length: steps }, () => ({ action: 'debug.echo' })) });
    expect(res.status).toBe(202);
    return res.body.job_ids;
  }
  /** The workspace's stream ids after `after`, as Redis holds them. */
  const streamIds = async (ws: string, after = '-') => (await server.redis.xrange(`ai:events:${ws}`, after === '-' ? '-' : `(${after}`, '+')).map(([id]) => id);
  const lastId = async (ws: string) => (await server.redis.xrevrange(`ai:events:${ws}`, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
  const finished = (connections: SseConnection[], jobIds: string[]) => {
    const done = new Set(connections.flatMap((c) => c.data<{ job_id: string }>('succeeded', 'failed', 'dead_lettered', 'cancelled')).map((d) => d.job_id));
    return jobIds.every((id) => done.has(id));
  };

  beforeAll(async () => {
    server = await fileRedis();
    [a, b] = [await replica(), await replica()];
    trimming = await startApi(server.url, { ...API_ENV, EVENTS_MAX_LEN: '10' });
    key = await a.api.key('acme', ['actions:execute', 'actions:preview']);
    worker = await createWorkerApp(
      { REDIS_URL: server.url, ACTION_ALLOWLIST: BUILT_INS, WORKER_CONCURRENCY: '4', JOB_MAX_ATTEMPTS: '1' },
      new CapturingLogger(),
    );
    await worker.init();
  });
  afterEach(() => {
    for (const c of open.splice(0)) c.close();
  });
  afterAll(async () => {
    await worker?.close();
    await Promise.all([a?.api.close(), b?.api.close(), trimming?.close()]);
    await server?.stop();
  });

  it('a client that drops and resumes with Last-Event-ID, on the other replica, while jobs keep finishing, gets every event once, in order', async () => {
    const first = await sse(a, '/ai/events');
    expect({ status: first.status, type: first.headers['content-type'] }).toEqual({ status: 200, type: 'text/event-stream; charset=utf-8' });
    const jobs: string[] = [];
    let submitting = true;
    const submitter = (async () => {
      while (submitting) jobs.push(...(await plan(3)));
    })();
    const received: string[] = [];
    // Three connections in turn: A, then B, then A again, each picking up after the last id the previous one delivered.
    let current = first;
    const middle: SseConnection[] = [];
    for (const next of [b, a]) {
      await expectEventually(() => expect(current.frames.length).toBeGreaterThanOrEqual(30), 10_000);
      current.close();
      await current.closed;
      received.push(...current.frames.map((f) => f.id!));
      current = await sse(next, '/ai/events', { ...auth(), 'Last-Event-ID': received.at(-1)! });
      expect(current.status).toBe(200);
      middle.push(current);
    }
    await expectEventually(() => expect(current.frames.length).toBeGreaterThanOrEqual(30), 10_000);
    submitting = false;
    await submitter;
    const all = [...jobs];
    await expectEventually(() => expect(finished([first, ...middle], all)).toBe(true), 20_000);
    received.push(...current.frames.map((f) => f.id!));
    // Every job was submitted after the first connection opened: its three events, each once, in stream order.
    expect(received.length).toBe(3 * all.length);
    expect(received).toEqual(await streamIds('acme'));
    const byJob = new Map<string, string[]>();
    for (const d of [first, ...middle].flatMap((c) => c.data<{ job_id: string; type: string }>())) byJob.set(d.job_id, [...(byJob.get(d.job_id) ?? []), d.type]);
    expect([...byJob.keys()].sort()).toEqual([...all].sort());
    for (const types of byJob.values()) expect(types).toEqual(['created', 'started', 'succeeded']);
  });

  it('frames carry the stream id, the type and the event as JSON; a job stream ends after the final event, a final job at once', async () => {
    const before = await lastId('acme');
    const id = await submit({ action: 'debug.sleep', params: { ms: 300 } });
    // From a position before the submit (last_event_id): the job's whole history.
    const job = await sse(b, `/ai/jobs/${id}/events?last_event_id=${before}`);
    expect(job.status).toBe(200);
    expect(await job.closed).toBe('end');
    expect(job.frames.map((f) => f.event)).toEqual(['created', 'started', 'succeeded']);
    const last = job.frames.at(-1)!;
    expect(JSON.parse(last.data)).toEqual({ type: 'succeeded', job_id: id, action: 'debug.sleep', status: 'succeeded', attempt: 1, at: expect.any(String), result: { slept_ms: 300 } });
    expect((await streamIds('acme')).includes(last.id!)).toBe(true);

    // Already final: the final event at once, then the end; with its id as Last-Event-ID: 204, nothing more.
    const again = await sse(a, `/ai/jobs/${id}/events`);
    expect(await again.closed).toBe('end');
    expect(again.frames.map((f) => [f.id, f.event])).toEqual([[last.id, 'succeeded']]);
    const done = await sse(a, `/ai/jobs/${id}/events`, { ...auth(), 'Last-Event-ID': last.id! });
    expect(done.status).toBe(204);
    // Streams are counted, never timed: their length is the client's, and would drown the latency quantiles.
    const metrics = (await a.api.http.get('/metrics')).text;
    expect(metrics).toMatch(/^http_requests_total\{method="GET",route="\/ai\/jobs\/:id\/events",status_code="200"\} [1-9]/m);
    expect(metrics).toMatch(/^http_request_duration_seconds_count\{[^}]*route="\/ai\/jobs\/:id\/events",status_code="204"\} [1-9]/m);
    expect(metrics).not.toMatch(/^http_request_duration_seconds_count\{[^}]*route="\/ai\/jobs\/:id\/events",status_code="200"\}/m);
  });

  it('filters by job_id, status and action, and refuses bad filters and ids with 400 before streaming', async () => {
    const byStatus = await sse(a, '/ai/events?status=failed,succeeded&action=debug.fail');
    const byAction = await sse(b, '/ai/events?action=debug.*');
    const echo = await submit({ action: 'debug.echo' });
    const fail = await submit({ action: 'debug.fail' });
    const byJob = await sse(a, `/ai/events?job_id=${fail}&last_event_id=0-0`);
    await expectEventually(() => {
      expect(byStatus.data().map((d) => [d.job_id, d.status])).toEqual([[fail, 'failed']]);
      expect(byJob.data().map((d) => d.type)).toEqual(expect.arrayContaining(['created', 'started']));
      expect(new Set(byJob.data().map((d) => d.job_id))).toEqual(new Set([fail]));
      expect(new Set(byAction.data().map((d) => d.job_id))).toEqual(new Set([echo, fail]));
    }, 10_000);
    const bad = [
      '/ai/events?status=done',
      '/ai/events?action=Not.An.Action',
      '/ai/events?job_id=bad%20id',
      '/ai/events?last_event_id=abc',
      '/ai/events?since=yesterday',
      '/ai/events?other=1',
      '/ai/jobs/bad%20id/events',
    ];
    for (const path of bad) {
      const res = await sse(a, path);
      expect({ path, status: res.status, type: res.headers['content-type'] }).toEqual({ path, status: 400, type: 'application/json; charset=utf-8' });
    }
    const header = await sse(a, '/ai/events', { ...auth(), 'Last-Event-ID': '12-x' });
    await header.closed;
    expect({ status: header.status, message: JSON.parse(header.body()).message }).toEqual({ status: 400, message: [expect.stringContaining('Last-Event-ID')] });
  });

  it('answers 404 for a missing job and for another workspace\'s job, exactly as GET /ai/jobs/{id} does', async () => {
    const other = await a.api.key('beta');
    const theirs = await submit({ action: 'debug.echo' }, other);
    for (const id of [theirs, 'no-such-job']) {
      const stream = await sse(b, `/ai/jobs/${id}/events`);
      await stream.closed;
      const plain = await b.api.http.get(`/ai/jobs/${id}`).set(auth());
      expect({ status: stream.status, message: JSON.parse(stream.body()).message }).toEqual({ status: 404, message: plain.body.message });
      expect(plain.status).toBe(404);
    }
  });

  it('announces a reset when the length cap trimmed away the events after a client\'s position, then goes on from the oldest kept', async () => {
    const trimKey = await a.api.key('trim');
    const before = await sse(a, '/ai/events', auth(trimKey));
    const [early] = await plan(1, trimming, trimKey);
    await expectEventually(() => expect(before.frames.length).toBeGreaterThan(0));
    const position = before.frames[0].id!;
    before.close();
    // EVENTS_MAX_LEN=10: approximate trimming drops whole stream nodes (100 entries), so a few hundred events are needed.
    await plan(100, trimming, trimKey);
    await plan(100, trimming, trimKey);
    await expectEventually(async () => expect(await streamIds('trim')).not.toContain(position), 20_000);
    const resumed = await sse(b, '/ai/events', { ...auth(trimKey), 'Last-Event-ID': position });
    await expectEventually(() => expect(resumed.frames.length).toBeGreaterThan(1));
    const [reset, firstKept] = resumed.frames;
    expect(reset.event).toBe('reset');
    expect(JSON.parse(reset.data)).toEqual({ reason: 'trimmed', last_event_id: position, resumes_after: reset.id });
    const kept = await streamIds('trim', reset.id);
    expect(firstKept.id).toBe(kept[0]);
    // Resuming where the reset says brings no second reset.
    const again = await sse(a, '/ai/events', { ...auth(trimKey), 'Last-Event-ID': reset.id! });
    await expectEventually(() => expect(again.frames.length).toBeGreaterThan(0));
    expect(again.frames[0]).toMatchObject({ event: expect.not.stringMatching(/^reset$/), id: kept[0] });

    // A final job whose events are gone: its final event made up from the record, once.
    const gone = await sse(b, `/ai/jobs/${early}/events`, auth(trimKey));
    expect(await gone.closed).toBe('end');
    const record = (await a.api.http.get(`/ai/jobs/${early}`).set(auth(trimKey))).body;
    expect(gone.data()).toEqual([{ type: 'succeeded', job_id: early, action: 'debug.echo', status: 'succeeded', attempt: 1, at: record.finished_at, result: record.result, synthesized: true }]);
    expect((await sse(a, `/ai/jobs/${early}/events`, { ...auth(trimKey), 'Last-Event-ID': gone.frames[0].id! })).status).toBe(204);
  });

  it('keeps a quiet stream alive with heartbeat comments, past the server\'s request timeout', async () => {
    const quiet = await sse(b, '/ai/events?job_id=nothing-ever');
    // HTTP_REQUEST_TIMEOUT_MS is 1000: a stream is no request still arriving, and is not cut by it.
    await expectEventually(() => expect(quiet.comments.filter((c) => c === 'heartbeat').length).toBeGreaterThanOrEqual(8), 10_000);
    expect(quiet.frames).toEqual([]);
    await expect(Promise.race([quiet.closed, Promise.resolve('open')])).resolves.toBe('open');
  });

  it('ends its streams cleanly when an API replica shuts down, answers waits, frees their places; the client resumes on another replica', async () => {
    const leaving = await replica();
    const shutdownKey = await a.api.key('acme', ['actions:execute', 'actions:preview']);
    const long = await submit({ action: 'debug.sleep', params: { ms: 3000 } }, shutdownKey);
    const all = await sse(leaving, '/ai/events', auth(shutdownKey));
    const job = await sse(leaving, `/ai/jobs/${long}/events`, auth(shutdownKey));
    await submit({ action: 'debug.echo' }, shutdownKey);
    await expectEventually(() => expect(all.frames.length).toBeGreaterThan(0));
    const keyId = parseKeyId(shutdownKey)!;
    expect(await server.redis.zcard(`ai:sse:streams:${keyId}`)).toBe(2);
    const waited = leaving.api.http.get(`/ai/jobs/${long}?wait=30`).set(auth(shutdownKey)).then((res) => res);
    await expectEventually(() => expect(leaving.api.app.get(EventHub).subscribers).toBe(3));

    await leaving.api.close();
    expect(await all.closed).toBe('end');
    expect(await job.closed).toBe('end');
    expect(all.comments.at(-1)).toMatch(/shutting down/);
    const answer = await waited;
    expect({ status: answer.status, final: answer.headers['relay-job-final'], status_: answer.body.status }).toEqual({ status: 200, final: 'false', status_: expect.stringMatching(/^(pending|running)$/) });
    expect(await server.redis.zcard(`ai:sse:streams:${keyId}`)).toBe(0);
    // Nothing is lost: the other replica goes on after the last event the client got.
    const resumed = await sse(a, `/ai/jobs/${long}/events`, { ...auth(shutdownKey), 'Last-Event-ID': all.frames.at(-1)!.id! });
    expect(await resumed.closed).toBe('end');
    expect(resumed.frames.at(-1)?.event).toBe('succeeded');
  });

  it('holds an API key to SSE_MAX_STREAMS_PER_KEY open streams across replicas: one more is 429 in the usual error shape', async () => {
    const capped = await a.api.key('acme', ['actions:preview']);
    const streams: SseConnection[] = [];
    for (let i = 0; i < CAP; i++) streams.push(await sse(i % 2 === 0 ? a : b, i === CAP - 1 ? '/ai/jobs/some-job/events' : '/ai/events', auth(capped)));
    expect(streams.map((s) => s.status)).toEqual([...Array(CAP - 1).fill(200), 404]);
    streams.pop();
    streams.push(await sse(a, '/ai/events?status=failed', auth(capped)));
    expect(streams.map((s) => s.status)).toEqual(Array(CAP).fill(200));
    for (const on of [a, b]) {
      const over = await sse(on, '/ai/events', auth(capped));
      await over.closed;
      expect({ status: over.status, body: JSON.parse(over.body()) }).toEqual({
        status: 429,
        body: { statusCode: 429, error: 'Too Many Requests', message: expect.stringContaining('SSE_MAX_STREAMS_PER_KEY'), request_id: expect.any(String) },
      });
    }
    // Another key of the workspace has places of its own; a closed stream frees its place.
    expect((await sse(b, '/ai/events')).status).toBe(200);
    streams[1].close();
    await expectEventually(async () => {
      const retry = await sse(b, '/ai/events', auth(capped));
      expect(retry.status).toBe(200);
    });
  });
});
