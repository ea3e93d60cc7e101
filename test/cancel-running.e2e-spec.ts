import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { register } from 'prom-client';
import { createWorkerApp } from '../apps/worker/src/worker.app.js';
import { BUILT_INS, CapturingLogger, startApi, type ApiHarness } from './support/api-harness.js';
import { DelayedLink } from './support/delayed-link.js';
import { history, jobEvents } from './support/event-stream.js';
import { expectEventually } from './support/expect-eventually.js';
import { fileRedis, type FileRedis } from './support/redis.js';
import { killAllWorkers, startWorker as startWorkerProcess } from './support/worker-process.js';

/**
 * Issue 15, point 5: cancelling a running job (README "Cancelling a running
 * job"), end to end on the real API, real workers (in-process, and a child
 * process to freeze and SIGKILL) and this file's own Redis. The workers'
 * lease is 3 s, so a worker hears of a cancel within 1 s (a renewal) even
 * without the cancel channel. The API is told of a 6 s lease, so it waits up
 * to 3 s for a running job to end (a renewal interval and 1 s).
 *
 * Which comes first, a cancel or the end of the action, is a race. Tests that
 * need the action to win it run their worker through a link that brings it
 * what Redis sends LINK_DELAY_MS late (what it sends goes at once): the
 * cancel's message reaches it only after its action has ended and its finish
 * has been written.
 */
const WS = 'acme';
const LEASE_MS = 3000;
const BOUND_MS = LEASE_MS / 3;
const API_LEASE_MS = 6000;
/** Whatever else happens, a job of this file is found in its new state within this. */
const SETTLE_MS = BOUND_MS + 4000;
const LINK_DELAY_MS = 2000;
/** The worker behind the link: a lease well over the link's round trip, and calls that wait for their late answers. */
const LINKED_ENV = { WORKER_LEASE_MS: '15000', REDIS_COMMAND_TIMEOUT_MS: '10000' };

const WORKER_ENV: Record<string, string> = {
  ACTION_ALLOWLIST: BUILT_INS,
  WORKER_LEASE_MS: String(LEASE_MS),
  JOB_TIMEOUT_MS: '60000',
  // A failed attempt waits up to an hour for its retry (full jitter: rarely less than seconds).
  JOB_RETRY_BASE_MS: '3600000',
  JOB_RETRY_MAX_MS: '3600000',
  // Running counts are kept only under a cap: the cancel must give its slot back.
  WORKSPACE_MAX_RUNNING: '10',
  WORKER_SHUTDOWN_GRACE_MS: '500',
};

/** A local upstream for http.post that never answers until told, and says when a caller went away. */
interface Upstream {
  port: number;
  waiting: ServerResponse[];
  closed: number;
  close(): Promise<void>;
}
async function startUpstream(): Promise<Upstream> {
  const upstream = { waiting: [] as ServerResponse[], closed: 0 } as Upstream;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    upstream.waiting.push(res);
    // The caller closed its connection before an answer: its AbortSignal fired.
    res.on('close', () => {
      if (!res.writableEnded) upstream.closed++;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  upstream.port = (server.address() as AddressInfo).port;
  upstream.close = () => new Promise((resolve) => server.close(() => resolve()).closeAllConnections());
  return upstream;
}

/** The value of a counter of the process's registry (the in-process API and workers share it). */
async function counter(name: string, labels: Record<string, string>): Promise<number> {
  const metric = register.getSingleMetric(name);
  const values = metric ? (await metric.get()).values : [];
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);
}

describe('cancelling a running job (real API, real workers, real Redis)', () => {
  let server: FileRedis;
  let redis: Redis;
  let api: ApiHarness;
  let upstream: Upstream;
  let link: DelayedLink;
  let key: string;
  const workers: { app: INestApplication; logs: CapturingLogger }[] = [];
  const auth = () => ({ Authorization: `Bearer ${key}` });
  const entry = (id: string) => `${WS}:${id}`;

  async function startWorker(env: Record<string, string> = {}) {
    const logs = new CapturingLogger();
    const app = await createWorkerApp({ ...WORKER_ENV, HTTP_ACTION_ALLOWED_HOSTS: `127.0.0.1:${upstream.port}`, REDIS_URL: server.url, ...env }, logs);
    await app.init();
    const worker = { app, logs };
    workers.push(worker);
    return worker;
  }
  async function submit(body: Record<string, unknown>): Promise<{ job_id: string; created_at: string }> {
    const res = await api.http.post('/ai/jobs').set(auth()).send(body);
    expect(res.status).toBe(202);
    return res.body;
  }
  const cancel = (id: string) => api.http.post(`/ai/jobs/${id}/cancel`).set(auth());
  const view = async (id: string) => (await api.http.get(`/ai/jobs/${id}`).set(auth())).body;
  const untilStatus = (id: string, status: string, timeoutMs = SETTLE_MS) =>
    expectEventually(async () => {
      const job = await view(id);
      expect({ id, status: job.status }).toEqual({ id, status });
      return job;
    }, timeoutMs);
  /** Lines of a worker's attempt log for one job. */
  const attempts = (logs: CapturingLogger, id: string) =>
    logs.records.map((r) => r.message as Record<string, unknown>).filter((m) => m?.event === 'job_attempt' && m.job_id === id);
  /** Where a final job's entry may still be: none of the places of a job that runs or will run. */
  async function queueTraces(id: string) {
    const [lease, retry, delayed, request, running] = await Promise.all([
      redis.zrange('ai:queue:leases', '0', '-1').then((leases) => leases.filter((l) => l.startsWith(`${entry(id)}|`))),
      redis.zscore('ai:queue:retry', entry(id)),
      redis.zscore('ai:queue:delayed', entry(id)),
      redis.sismember('ai:queue:cancel-requests', entry(id)),
      redis.hget('ai:queue:running', WS),
    ]);
    return { lease, retry, delayed, request, running: Number(running ?? 0) };
  }
  const NO_TRACES = { lease: [], retry: null, delayed: null, request: 0, running: 0 };
  /** The job's events (README "Event stream"): type:status:attempt, and the reason of a `cancelled`. */
  const events = async (id: string) => (await jobEvents(redis, WS, id)).map((e) => (e.f.type === 'cancelled' ? `${history([e])[0]} ${e.f.reason}` : history([e])[0]));
  /** Waits until Redis's clock has passed `ms` (epoch ms). */
  const untilRedisTime = (ms: number) =>
    expectEventually(
      async () => {
        const [seconds, micros] = await redis.time();
        expect(Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)).toBeGreaterThanOrEqual(ms);
      },
      ms - Date.now() + 5000,
      20,
    );

  beforeAll(async () => {
    server = await fileRedis();
    redis = server.redis;
    upstream = await startUpstream();
    link = await DelayedLink.open(server.server.port, LINK_DELAY_MS);
    api = await startApi(server.url, { RATE_LIMIT_MAX: '0', WORKER_LEASE_MS: String(API_LEASE_MS) });
  });
  beforeEach(async () => {
    await redis.flushdb();
    key = await api.key(WS, ['actions:execute', 'actions:preview'], 'agent-c');
  });
  afterEach(async () => {
    for (const w of workers.splice(0).reverse()) await w.app.close();
    await killAllWorkers();
    for (const res of upstream.waiting.splice(0)) res.destroy();
  });
  afterAll(async () => {
    await api?.close();
    await upstream?.close();
    await link?.close();
    await server?.stop();
  });

  it('stops a running debug.sleep at once: 200 cancelled, final (finished_at, expiry, indexes), no retry, its slot and lease given back', async () => {
    const worker = await startWorker();
    const stoppedBefore = await counter('relay_job_cancels_total', { outcome: 'stopped' });
    const job = await submit({ action: 'debug.sleep', params: { ms: 60000 } });
    const running = await untilStatus(job.job_id, 'running');

    const res = await cancel(job.job_id);
    // The answer waited for the end (at most a renewal interval and its margin) and says how it ended.
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ job_id: job.job_id, status: 'cancelled', cancel: 'cancelled', attempts: 1, started_at: running.started_at, finished_at: expect.any(String), result: null });
    const member = `${job.created_at}/${job.job_id}`;
    expect(await redis.ttl(`ai:jobs:${job.job_id}`)).toBeGreaterThan(86000);
    expect(await redis.zrange(`ai:index:${WS}:status:cancelled`, '0', '-1')).toEqual([member]);
    expect(await redis.zrange(`ai:index:${WS}:status:running`, '0', '-1')).toEqual([]);
    // No retention entry: its workspace is in the expiry sweep's registry, which drops the entry once the record is gone.
    expect(await redis.zrange('ai:queue:retention', '0', '-1')).not.toContain(`${WS}|cancelled|${member}`);
    expect(await redis.zrange('ai:queue:expiring-workspaces', '0', '-1')).toContain(WS);
    expect(await queueTraces(job.job_id)).toEqual(NO_TRACES);
    expect(await counter('relay_job_cancels_total', { outcome: 'stopped' })).toBe(stoppedBefore + 1);
    expect(await events(job.job_id)).toEqual(['created:pending:0', 'started:running:1', 'cancelled:cancelled:1 requested']);

    // The worker goes on: a job submitted after it runs, and the cancelled one never ran again.
    const next = await submit({ action: 'debug.echo', params: { n: 1 } });
    await untilStatus(next.job_id, 'succeeded');
    expect(await view(job.job_id)).toMatchObject({ status: 'cancelled', attempts: 1 });
    expect(attempts(worker.logs, job.job_id).map((a) => a.outcome)).toEqual(['cancelled']);
  });

  it("fires the action's AbortSignal: an http.post waiting on an upstream that never answers has its connection closed", async () => {
    await startWorker();
    const job = await submit({ action: 'http.post', params: { url: `http://127.0.0.1:${upstream.port}/slow`, body: {} } });
    await expectEventually(() => expect(upstream.waiting).toHaveLength(1), SETTLE_MS);
    expect(upstream.closed).toBe(0);
    const res = await cancel(job.job_id);
    expect(res.body).toMatchObject({ status: 'cancelled', cancel: 'cancelled' });
    await expectEventually(() => expect(upstream.closed).toBe(1), SETTLE_MS);
  });

  it('reaches a worker that missed the cancel channel through its next lease renewal (WORKER_LEASE_MS / 3)', async () => {
    await startWorker();
    const job = await submit({ action: 'debug.sleep', params: { ms: 60000 } });
    await untilStatus(job.job_id, 'running');
    // As cancelJob records it, without the message on the channel (pub/sub keeps nothing for a worker that is not listening).
    await redis.sadd('ai:queue:cancel-requests', entry(job.job_id));
    await untilStatus(job.job_id, 'cancelled', BOUND_MS + 2000);
    expect(await queueTraces(job.job_id)).toEqual(NO_TRACES);
    expect(await events(job.job_id)).toEqual(['created:pending:0', 'started:running:1', 'cancelled:cancelled:1 requested']);
  });

  it('keeps the outcome of an action that finished before the cancel reached its worker: 200 finished_first', async () => {
    await startWorker({ ...LINKED_ENV, REDIS_URL: `redis://127.0.0.1:${link.port}` });
    const job = await submit({ action: 'debug.sleep', params: { ms: 1000 } });
    const running = await untilStatus(job.job_id, 'running', SETTLE_MS + LINK_DELAY_MS);
    // The worker heard of its claim LINK_DELAY_MS after started_at: its action runs from then on for 1 s.
    // A cancel half-way through the delay reaches it another LINK_DELAY_MS later, after the action ended.
    await untilRedisTime(Date.parse(running.started_at) + LINK_DELAY_MS / 2 + 1000);
    const res = await cancel(job.job_id);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'succeeded', cancel: 'finished_first', result: { slept_ms: 1000 } });
    expect(await queueTraces(job.job_id)).toEqual(NO_TRACES);
    expect(await events(job.job_id)).toEqual(['created:pending:0', 'started:running:1', 'succeeded:succeeded:1']);
  });

  it('records as cancelled an attempt that failed, retryably, before its worker heard of the cancel: no retry', async () => {
    const worker = await startWorker({ ...LINKED_ENV, REDIS_URL: `redis://127.0.0.1:${link.port}` });
    const job = await submit({ action: 'http.post', params: { url: `http://127.0.0.1:${upstream.port}/fails`, body: {} } });
    await expectEventually(() => expect(upstream.waiting).toHaveLength(1), SETTLE_MS + LINK_DELAY_MS);
    const answer = cancel(job.job_id).then((res) => res);
    await expectEventually(async () => expect(await redis.sismember('ai:queue:cancel-requests', entry(job.job_id))).toBe(1));
    // The upstream fails now (a 503 is retryable), while the cancel's message is still on its way to the worker.
    upstream.waiting[0].writeHead(503).end();
    const res = await answer;
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'cancelled', cancel: 'cancelled', attempts: 1 });
    expect(await queueTraces(job.job_id)).toEqual(NO_TRACES);
    expect(await events(job.job_id)).toEqual(['created:pending:0', 'started:running:1', 'cancelled:cancelled:1 requested']);
    await expectEventually(() => expect(attempts(worker.logs, job.job_id).map((a) => a.outcome)).toEqual(['cancelled']), LINK_DELAY_MS + 2000);
  });

  it('cancels a delayed job and a job waiting for its retry at once, with a worker running: 200 cancelled, out of their sets', async () => {
    await startWorker();
    const delayed = await submit({ action: 'debug.echo', delay_ms: 600000 });
    const retrying = await submit({ action: 'debug.fail', params: { times: 1 } });
    await expectEventually(async () => expect(await view(retrying.job_id)).toMatchObject({ status: 'pending', attempts: 1, error: expect.any(String) }), SETTLE_MS);
    expect(await redis.zscore('ai:queue:delayed', entry(delayed.job_id))).not.toBeNull();
    expect(await redis.zscore('ai:queue:retry', entry(retrying.job_id))).not.toBeNull();
    for (const job of [delayed, retrying]) {
      const res = await cancel(job.job_id);
      expect({ status: res.status, body: res.body }).toMatchObject({ status: 200, body: { job_id: job.job_id, status: 'cancelled', cancel: 'cancelled' } });
      expect(await queueTraces(job.job_id)).toEqual(NO_TRACES);
    }
    expect((await view(retrying.job_id)).attempts).toBe(1);
    expect(await events(delayed.job_id)).toEqual(['created:pending:0', 'cancelled:cancelled:0 requested']);
    expect(await events(retrying.job_id)).toEqual(['created:pending:0', 'started:running:1', 'retrying:pending:1', 'cancelled:cancelled:1 requested']);
  });

  it('answers 409 for a final job (succeeded, or already cancelled) and 404 for an absent one', async () => {
    await startWorker();
    const done = await submit({ action: 'debug.echo' });
    await untilStatus(done.job_id, 'succeeded');
    const conflict = await cancel(done.job_id);
    expect({ status: conflict.status, message: conflict.body.message }).toEqual({ status: 409, message: 'job is succeeded; only a job that has not finished can be cancelled' });
    const pending = await submit({ action: 'debug.echo', delay_ms: 600000 });
    expect((await cancel(pending.job_id)).status).toBe(200);
    expect((await cancel(pending.job_id)).status).toBe(409);
    expect((await cancel('no-such-job')).status).toBe(404);
    expect(await view(done.job_id)).toMatchObject({ status: 'succeeded', result: {} });
  });

  it('cancels, on recovery, a job whose worker froze then died after its cancel was requested: 202 first, then cancelled, never run again', async () => {
    const frozen = await startWorkerProcess({ ...WORKER_ENV, REDIS_URL: server.url, WORKER_LEASE_MS: '1500', LOG_LEVEL: 'warn' });
    const job = await submit({ action: 'debug.sleep', params: { ms: 60000 } });
    const running = await untilStatus(job.job_id, 'running');
    process.kill(frozen.pid, 'SIGSTOP');
    const res = await cancel(job.job_id);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'running', cancel: 'requested' });
    frozen.child.kill('SIGKILL');
    await frozen.exited;

    // Another worker's recovery pass finds the lease lapsed and the request waiting: cancelled, not requeued.
    const rescuer = await startWorker();
    const cancelled = await untilStatus(job.job_id, 'cancelled', SETTLE_MS + 1500);
    expect(cancelled).toMatchObject({ attempts: 1, started_at: running.started_at, finished_at: expect.any(String) });
    expect(await queueTraces(job.job_id)).toEqual(NO_TRACES);
    expect(await redis.lrange(`ai:queue:ws:${WS}`, '0', '-1')).toEqual([]);
    const next = await submit({ action: 'debug.echo' });
    await untilStatus(next.job_id, 'succeeded');
    expect(attempts(rescuer.logs, job.job_id)).toEqual([]);
    expect((await view(job.job_id)).attempts).toBe(1);
    // Cancelled by the recovery pass, never requeued (no `retrying`, no second `started`).
    expect(await events(job.job_id)).toEqual(['created:pending:0', 'started:running:1', 'cancelled:cancelled:1 requested']);
  });
});
