import type { IncomingMessage, Server } from 'node:http';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { parseKeyId } from '@relay/auth';
import { EventHub } from '@relay/queue';
import { createWorkerApp } from '../apps/worker/src/worker.app.js';
import { RelayApiError, RelayClient, type Reconnect, type RelayClientOptions, type StreamEvent } from '../clients/typescript/src/index.js';
import { BUILT_INS, CapturingLogger, startApi, type ApiHarness } from './support/api-harness.js';
import { expectEventually } from './support/expect-eventually.js';
import { fileRedis, type FileRedis } from './support/redis.js';
import { openSse, type SseConnection } from './support/sse-client.js';

/**
 * The typed client's event streams (events(), jobEvents()) against real API
 * replicas listening on ports, a real worker running real jobs and one
 * Redis, as test/event-streams.e2e-spec.ts starts them: typed events,
 * filters, the job stream's end, resets, a reconnect after the connection
 * is cut server side mid-stream (every event once, in order), a reconnect
 * before any event arrived (Relay-Stream-Position), a replica shutting down
 * under a job stream, the signal, errors not retried; and the gauge
 * relay_sse_streams_open read through GET /metrics. The replicas live in
 * this one process, so the gauge (per process) counts the streams of all of
 * them: any replica's /metrics shows the same value.
 */

interface Replica {
  api: ApiHarness;
  port: number;
  /** Destroys the sockets of the event streams it serves (a connection cut server side, mid-stream). */
  cutStreams(): void;
}

/** A TCP forwarder to a replica: the client's one address while replicas come and go; while down it drops every connection. */
interface Forwarder {
  url: string;
  to(port: number): void;
  down(): void;
  up(): void;
  close(): Promise<void>;
}

const CAP = 5;
const API_ENV = { SSE_HEARTBEAT_MS: '200', SSE_MAX_STREAMS_PER_KEY: String(CAP), RATE_LIMIT_MAX: '0' };
const BOTH = ['actions:execute', 'actions:preview'];

describe('typed client event streams: events() and jobEvents() against running API replicas and a worker', () => {
  let server: FileRedis;
  let a: Replica;
  let b: Replica;
  /** Not listening: submits with EVENTS_MAX_LEN=10, so its appends trim the stream (the reset test). */
  let trimming: ApiHarness;
  let worker: INestApplication;
  const stops: AbortController[] = [];
  const raw: SseConnection[] = [];
  const forwarders: Forwarder[] = [];

  async function replica(): Promise<Replica> {
    const api = await startApi(server.url, API_ENV);
    await api.app.listen(0, '127.0.0.1');
    const http = api.app.getHttpServer() as Server;
    const streams = new Set<Socket>();
    http.on('request', (req: IncomingMessage) => {
      if (/\/events(\?|$)/.test(req.url ?? '')) streams.add(req.socket);
    });
    return {
      api,
      port: (http.address() as AddressInfo).port,
      cutStreams: () => {
        for (const socket of streams) socket.destroy();
        streams.clear();
      },
    };
  }

  async function forwarder(port: number): Promise<Forwarder> {
    let target = port;
    let accepting = true;
    const sockets = new Set<Socket>();
    const proxy = createServer((inbound) => {
      if (!accepting) return inbound.destroy();
      const outbound = connect(target, '127.0.0.1');
      for (const s of [inbound, outbound]) sockets.add(s);
      const close = () => {
        inbound.destroy();
        outbound.destroy();
        sockets.delete(inbound);
        sockets.delete(outbound);
      };
      inbound.pipe(outbound).pipe(inbound);
      for (const s of [inbound, outbound]) s.on('error', close).on('close', close);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const forwarding: Forwarder = {
      url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
      to: (next) => (target = next),
      down: () => {
        accepting = false;
        for (const s of sockets) s.destroy();
      },
      up: () => (accepting = true),
      close: () =>
        new Promise((resolve) => {
          for (const s of sockets) s.destroy();
          proxy.close(() => resolve());
        }),
    };
    forwarders.push(forwarding);
    return forwarding;
  }

  const urlOf = (on: Replica) => `http://127.0.0.1:${on.port}`;
  const client = (baseUrl: string, apiKey: string, options: Partial<RelayClientOptions> = {}) => new RelayClient({ baseUrl, apiKey, ...options });
  /** A signal that afterEach aborts: no loop outlives its test. */
  const stopper = () => {
    const controller = new AbortController();
    stops.push(controller);
    return controller;
  };
  /** Runs the loop in the background, collecting what it yields. */
  function collect(iterable: AsyncIterable<StreamEvent>) {
    const events: StreamEvent[] = [];
    const done = (async () => {
      for await (const event of iterable) events.push(event);
    })();
    return { events, done };
  }
  const auth = (k: string) => ({ Authorization: `Bearer ${k}` });
  async function submit(key: string, body: Record<string, unknown>): Promise<string> {
    const res = await b.api.http.post('/ai/jobs').set(auth(key)).send(body);
    expect(res.status).toBe(202);
    return res.body.job_id;
  }
  async function plan(key: string, steps: number, on = b.api): Promise<string[]> {
    const res = await on.http.post('/ai/plans').set(auth(key)).send({ steps: Array.from({ length: steps }, () => ({ action: 'debug.echo' })) });
    expect(res.status).toBe(202);
    return res.body.job_ids;
  }
  async function sse(on: Replica, path: string, key: string): Promise<SseConnection> {
    const connection = await openSse(on.port, path, auth(key));
    raw.push(connection);
    return connection;
  }
  const streamIds = async (ws: string, after = '-') => (await server.redis.xrange(`ai:events:${ws}`, after === '-' ? '-' : `(${after}`, '+')).map(([id]) => id);
  const lastId = async (ws: string) => (await server.redis.xrevrange(`ai:events:${ws}`, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
  const subscribers = (on: Replica) => on.api.app.get(EventHub).subscribers;
  const jobEvents = (events: StreamEvent[]) => events.flatMap((e) => (e.type === 'reset' ? [] : [e.data]));
  const finalsOf = (events: StreamEvent[]) => new Set(jobEvents(events).filter((d) => ['succeeded', 'failed', 'cancelled', 'dead_lettered'].includes(d.type)).map((d) => d.job_id));
  /** relay_sse_streams_open as GET /metrics shows it. */
  async function openStreams(on: Replica = a): Promise<number> {
    const text = (await on.api.http.get('/metrics').expect(200)).text;
    expect(text).toMatch(/^# TYPE relay_sse_streams_open gauge$/m);
    return Number(/^relay_sse_streams_open (\d+)$/m.exec(text)![1]);
  }

  beforeAll(async () => {
    server = await fileRedis();
    [a, b] = [await replica(), await replica()];
    trimming = await startApi(server.url, { ...API_ENV, EVENTS_MAX_LEN: '10' });
    worker = await createWorkerApp({ REDIS_URL: server.url, ACTION_ALLOWLIST: BUILT_INS, WORKER_CONCURRENCY: '4', JOB_MAX_ATTEMPTS: '1' }, new CapturingLogger());
    await worker.init();
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) stop.abort();
    for (const c of raw.splice(0)) c.close();
    await Promise.all(forwarders.splice(0).map((f) => f.close()));
    // Every test starts with no stream open on either replica: "the stream is open" is then subscribers() === 1.
    await expectEventually(() => expect([subscribers(a), subscribers(b)]).toEqual([0, 0]));
  });
  afterAll(async () => {
    await worker?.close();
    await Promise.all([a?.api.close(), b?.api.close(), trimming?.close()]);
    await server?.stop();
  });

  it('yields typed events, filtered; a job stream ends after the final event, a final job\'s at once, and nothing when the caller has it', async () => {
    const key = await a.api.key('typed', BOTH);
    const relay = client(urlOf(a), key);
    const stop = stopper();
    const before = await lastId('typed');
    const finals = collect(relay.events({ status: ['succeeded', 'failed'], action: ['debug.fail', 'debug.sleep'], signal: stop.signal }));
    await expectEventually(() => expect(subscribers(a)).toBe(1));
    const sleeper = await submit(key, { action: 'debug.sleep', params: { ms: 200 } });
    const failing = await submit(key, { action: 'debug.fail' });
    await submit(key, { action: 'debug.echo' });

    const job = collect(relay.jobEvents(sleeper, { lastEventId: before }));
    await job.done;
    expect(job.events.map((e) => e.type)).toEqual(['created', 'started', 'succeeded']);
    const last = job.events.at(-1)!;
    expect(last.data).toEqual({ type: 'succeeded', job_id: sleeper, action: 'debug.sleep', status: 'succeeded', attempt: 1, at: expect.any(String), result: { slept_ms: 200 } });
    if (last.type !== 'reset') expect(typeof last.data.attempt).toBe('number');
    expect(job.events.map((e) => e.id)).toEqual((await streamIds('typed', before)).filter((id) => job.events.some((e) => e.id === id)));

    // Filters: only the final events of the two actions asked for, in stream order.
    // JOB_MAX_ATTEMPTS=1: the failed job's last event is dead_lettered, with status failed.
    await expectEventually(() => expect(jobEvents(finals.events).map((d) => `${d.job_id} ${d.type} ${d.status}`).sort()).toEqual([`${failing} dead_lettered failed`, `${sleeper} succeeded succeeded`].sort()), 10_000);
    const ids = finals.events.map((e) => e.id);
    expect(ids).toEqual((await streamIds('typed', before)).filter((id) => ids.includes(id)));

    // Already final: its final event, then the end; with that event's id, nothing at all (the API's 204).
    const again = collect(relay.jobEvents(sleeper));
    await again.done;
    expect(again.events.map((e) => [e.id, e.type])).toEqual([[last.id, 'succeeded']]);
    const nothing = collect(relay.jobEvents(sleeper, { lastEventId: last.id }));
    await nothing.done;
    expect(nothing.events).toEqual([]);
    stop.abort();
    await finals.done;
  });

  it('resumes after its connection is cut server side mid-stream, three times, while jobs keep finishing: every event once, in order', async () => {
    const key = await a.api.key('cut', BOTH);
    const reconnects: { reconnect: Reconnect; seen: number }[] = [];
    const stop = stopper();
    const reading = collect(client(urlOf(a), key).events({ signal: stop.signal, onReconnect: (reconnect) => reconnects.push({ reconnect, seen: reading.events.length }) }));
    await expectEventually(() => expect(subscribers(a)).toBe(1));
    const jobs: string[] = [];
    let submitting = true;
    const submitter = (async () => {
      while (submitting) jobs.push(...(await plan(key, 3)));
    })();
    for (let cut = 0; cut < 3; cut++) {
      const seen = reading.events.length;
      await expectEventually(() => expect(reading.events.length).toBeGreaterThanOrEqual(seen + 20), 10_000);
      a.cutStreams();
    }
    const seen = reading.events.length;
    await expectEventually(() => expect(reading.events.length).toBeGreaterThanOrEqual(seen + 20), 10_000);
    submitting = false;
    await submitter;
    await expectEventually(() => expect(jobs.every((id) => finalsOf(reading.events).has(id))).toBe(true), 20_000);
    stop.abort();
    await reading.done;

    // Every event of the workspace (each job was submitted after the stream opened), each once, in stream order.
    expect(reading.events.map((e) => e.id)).toEqual(await streamIds('cut'));
    const byJob = new Map<string, string[]>();
    for (const d of jobEvents(reading.events)) byJob.set(d.job_id, [...(byJob.get(d.job_id) ?? []), d.type]);
    expect([...byJob.keys()].sort()).toEqual([...jobs].sort());
    for (const types of byJob.values()) expect(types).toEqual(['created', 'started', 'succeeded']);
    // Three reconnects, each at once after the cut, with Last-Event-ID the last event delivered before it.
    expect(reconnects.map(({ reconnect }) => [reconnect.reason, reconnect.attempt])).toEqual([['dropped', 1], ['dropped', 1], ['dropped', 1]]);
    for (const { reconnect, seen: at } of reconnects) expect(reconnect.lastEventId).toBe(reading.events[at - 1].id);
  });

  it('cut before any event arrived, and kept out while jobs run, resumes after the stream\'s own start: nothing of the gap is lost', async () => {
    const key = await a.api.key('gap', BOTH);
    // Events from before the stream opened: not the stream's.
    const earlier = await plan(key, 1);
    await expectEventually(async () => expect((await streamIds('gap')).length).toBe(3));
    const start = await lastId('gap');
    const forward = await forwarder(a.port);
    const reconnects: Reconnect[] = [];
    const stop = stopper();
    const reading = collect(client(forward.url, key, { retry: { maxAttempts: 10 } }).events({ signal: stop.signal, onReconnect: (r) => reconnects.push(r) }));
    await expectEventually(() => expect(subscribers(a)).toBe(1));
    forward.down();
    await expectEventually(() => expect(subscribers(a)).toBe(0));
    const during = await submit(key, { action: 'debug.echo' });
    await expectEventually(async () => expect((await streamIds('gap', start)).length).toBe(3));
    await expectEventually(() => expect(reconnects.some((r) => r.reason === 'no_answer')).toBe(true), 5000);
    forward.up();
    await expectEventually(() => expect(finalsOf(reading.events).has(during)).toBe(true), 10_000);
    stop.abort();
    await reading.done;
    expect(reading.events.map((e) => e.id)).toEqual(await streamIds('gap', start));
    expect(jobEvents(reading.events).map((d) => [d.job_id, d.type])).toEqual([[during, 'created'], [during, 'started'], [during, 'succeeded']]);
    expect(earlier).not.toContain(during);
    // The first reconnect resumed after the position the stream had started at (its Relay-Stream-Position).
    expect(reconnects[0]).toMatchObject({ reason: 'dropped', attempt: 1, lastEventId: start });
    expect(reconnects.every((r) => r.lastEventId === start)).toBe(true);
  });

  it('follows a job across its API replica shutting down: the job stream goes on from another replica and ends only after the final event', async () => {
    const leaving = await replica();
    const key = await a.api.key('moving', BOTH);
    const forward = await forwarder(leaving.port);
    const relay = client(forward.url, key);
    const before = await lastId('moving');
    const long = await submit(key, { action: 'debug.sleep', params: { ms: 1500 } });
    const reconnects: Reconnect[] = [];
    const job = collect(relay.jobEvents(long, { lastEventId: before, onReconnect: (r) => reconnects.push(r) }));
    const stop = stopper();
    const all = collect(relay.events({ lastEventId: before, signal: stop.signal }));
    await expectEventually(() => expect(job.events.map((e) => e.type)).toEqual(['created', 'started']), 10_000);
    await expectEventually(() => expect(all.events.length).toBe(2));
    forward.to(a.port);
    await leaving.api.close();
    // The shutdown ended the job stream cleanly, before the job's end: the client went on, through the forwarder, on replica a.
    await job.done;
    expect(job.events.map((e) => e.type)).toEqual(['created', 'started', 'succeeded']);
    expect(reconnects[0]).toMatchObject({ reason: 'ended', attempt: 1, lastEventId: job.events[1].id });
    await expectEventually(() => expect(all.events.length).toBe(3));
    stop.abort();
    await all.done;
    expect(all.events.map((e) => e.id)).toEqual(await streamIds('moving', before));
    expect(job.events.map((e) => e.id)).toEqual(all.events.map((e) => e.id));
  });

  it('surfaces a reset as an event of type reset, then goes on from the oldest event kept', async () => {
    const key = await a.api.key('trimmed', BOTH);
    await plan(key, 1, trimming);
    await expectEventually(async () => expect((await streamIds('trimmed')).length).toBeGreaterThan(0));
    const [position] = await streamIds('trimmed');
    // EVENTS_MAX_LEN=10: approximate trimming drops whole stream nodes (100 entries), so a few hundred events are needed.
    await plan(key, 100, trimming);
    await plan(key, 100, trimming);
    await expectEventually(async () => expect(await streamIds('trimmed')).not.toContain(position), 20_000);
    const stop = stopper();
    const resumed = collect(client(urlOf(b), key).events({ lastEventId: position, signal: stop.signal }));
    await expectEventually(() => expect(resumed.events.length).toBeGreaterThan(1), 10_000);
    const [reset, firstKept] = resumed.events;
    if (reset.type !== 'reset') throw new Error(`expected a reset first, got ${reset.type}`);
    expect(reset.data).toEqual({ reason: 'trimmed', last_event_id: position, resumes_after: reset.id });
    expect(firstKept.id).toBe((await streamIds('trimmed', reset.data.resumes_after))[0]);
    stop.abort();
    await resumed.done;
  });

  it('ends when its signal aborts (the server closes the stream and frees its place); throws what no retry can fix, after one try', async () => {
    const key = await a.api.key('stops', ['actions:preview']);
    const keyId = parseKeyId(key)!;
    const relay = client(urlOf(a), key);
    const stop = new AbortController();
    const reading = collect(relay.events({ signal: stop.signal }));
    await expectEventually(async () => expect(await server.redis.zcard(`ai:sse:streams:${keyId}`)).toBe(1));
    stop.abort();
    await reading.done;
    await expectEventually(async () => expect(await server.redis.zcard(`ai:sse:streams:${keyId}`)).toBe(0));

    const missing = await collect(relay.jobEvents('no-such-job')).done.catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(RelayApiError);
    expect(missing).toMatchObject({ status: 404, attempts: 1, body: { message: 'job not found' } });
    const bad = await collect(relay.events({ status: 'done' as never })).done.catch((e: unknown) => e);
    expect(bad).toMatchObject({ status: 400, attempts: 1 });
    const unknown = await collect(client(urlOf(a), 'relay_wrong').events()).done.catch((e: unknown) => e);
    expect(unknown).toMatchObject({ status: 401, attempts: 1 });

    // The open-stream cap: 429 without Retry-After (a place frees only when a stream ends): not retried.
    const held = stopper();
    const open = Array.from({ length: CAP }, () => collect(relay.events({ signal: held.signal })));
    await expectEventually(async () => expect(await server.redis.zcard(`ai:sse:streams:${keyId}`)).toBe(CAP));
    const over = await collect(relay.events()).done.catch((e: unknown) => e);
    expect(over).toMatchObject({ status: 429, attempts: 1, body: { message: expect.stringContaining('SSE_MAX_STREAMS_PER_KEY') } });
    held.abort();
    await Promise.all(open.map((o) => o.done));
  });

  it('relay_sse_streams_open (GET /metrics) goes up when a stream opens and down when it closes: client gone, job final, cut, shutdown', async () => {
    const key = await a.api.key('metered', BOTH);
    const base = await openStreams();
    const workspace = await sse(a, '/ai/events', key);
    expect(workspace.status).toBe(200);
    expect(await openStreams()).toBe(base + 1);
    const sleeper = await submit(key, { action: 'debug.sleep', params: { ms: 500 } });
    const job = await sse(b, `/ai/jobs/${sleeper}/events`, key);
    // b's stream, read on a's /metrics: one gauge per process.
    expect(await openStreams(a)).toBe(base + 2);
    expect(await openStreams(b)).toBe(base + 2);

    // Refusals come before the stream: never counted.
    expect((await sse(a, '/ai/jobs/no-such-job/events', key)).status).toBe(404);
    expect((await sse(a, '/ai/events?status=done', key)).status).toBe(400);
    expect(await openStreams()).toBe(base + 2);

    // The client leaves.
    workspace.close();
    await expectEventually(async () => expect(await openStreams()).toBe(base + 1));
    // The job's final event ends its stream.
    expect(await job.closed).toBe('end');
    await expectEventually(async () => expect(await openStreams()).toBe(base));
    // A final job's stream: its final event at once, then the end.
    const once = await sse(a, `/ai/jobs/${sleeper}/events`, key);
    expect(await once.closed).toBe('end');
    await expectEventually(async () => expect(await openStreams()).toBe(base));

    // The connection cut server side.
    const cut = await sse(a, '/ai/events', key);
    expect(await openStreams()).toBe(base + 1);
    a.cutStreams();
    expect(await cut.closed).toBe('aborted');
    await expectEventually(async () => expect(await openStreams()).toBe(base));

    // The typed client's signal.
    const stop = stopper();
    const reading = collect(client(urlOf(a), key).events({ signal: stop.signal }));
    await expectEventually(async () => expect(await openStreams()).toBe(base + 1));
    stop.abort();
    await reading.done;
    await expectEventually(async () => expect(await openStreams()).toBe(base));

    // An API replica shutting down ends its streams (read on a's /metrics once it is gone).
    const leaving = await replica();
    const longer = await submit(key, { action: 'debug.sleep', params: { ms: 3000 } });
    const streams = [await sse(leaving, '/ai/events', key), await sse(leaving, `/ai/jobs/${longer}/events`, key)];
    expect(await openStreams(leaving)).toBe(base + 2);
    await leaving.api.close();
    expect(await Promise.all(streams.map((s) => s.closed))).toEqual(['end', 'end']);
    expect(await openStreams()).toBe(base);
  });
});
