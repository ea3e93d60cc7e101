import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { register, type Gauge } from 'prom-client';
import { WorkQueue } from '@relay/queue';
import { RelayMetrics } from '@relay/telemetry';
import { createWorkerApp } from '../apps/worker/src/worker.app.js';
import { BUILT_INS, CapturingLogger, startApi, type ApiHarness } from './support/api-harness.js';
import { runRelay, type CliRun } from './support/cli-runner.js';
import { expectEventually } from './support/expect-eventually.js';
import { freePort } from './support/redis-server.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * The worker (SPEC sections 5 and 7) end to end: the real API and the real
 * worker application, both in-process, on a real Redis (a redis-server of
 * this file's own, flushed before every test).
 */
const WS = 'acme';

/** This file's own Redis (started in beforeAll). */
let server: FileRedis;

/** Settings that keep the worker fast under test (REDIS_URL is added when it starts); each test adds its own. */
const WORKER_BASE: Record<string, string> = {
  ACTION_ALLOWLIST: BUILT_INS,
  WORKER_LEASE_MS: '1000',
  WORKER_SHUTDOWN_GRACE_MS: '500',
  JOB_RETRY_BASE_MS: '20',
  JOB_RETRY_MAX_MS: '100',
  JOB_TIMEOUT_MS: '2000',
};

interface Worker {
  app: INestApplication;
  logs: CapturingLogger;
  queue: WorkQueue;
}

/** `relay <argv>` in-process against this file's Redis. */
async function relay(...argv: string[]): Promise<CliRun> {
  return runRelay({ REDIS_URL: server.url }, argv);
}

/** Start and end of each interval; the largest number that were open at one instant ([start, end): an end at t closes before a start at t). */
function maxOverlap(intervals: { start: number; end: number }[]): number {
  const events = intervals.flatMap((i) => [
    { t: i.start, d: 1 },
    { t: i.end, d: -1 },
  ]);
  events.sort((a, b) => a.t - b.t || a.d - b.d);
  let open = 0;
  let max = 0;
  for (const e of events) {
    open += e.d;
    max = Math.max(max, open);
  }
  return max;
}

/** The value of one sample line of a Prometheus exposition, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const pair of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) got[pair[1]] = pair[2];
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('worker (in-process, real Redis)', () => {
  let api: ApiHarness;
  let redis: Redis;
  let key: string;
  const workers: Worker[] = [];
  const auth = () => ({ Authorization: `Bearer ${key}` });

  async function startWorker(env: Record<string, string> = {}, port?: number): Promise<Worker> {
    const logs = new CapturingLogger();
    const app = await createWorkerApp({ ...WORKER_BASE, REDIS_URL: server.url, ...env }, logs);
    const worker = { app, logs, queue: app.get(WorkQueue) };
    workers.push(worker);
    if (port === undefined) await app.init();
    else await app.listen(port, '127.0.0.1');
    return worker;
  }

  async function stopWorkers(): Promise<void> {
    for (const w of workers.splice(0).reverse()) await w.app.close();
  }

  async function submit(action: string, params: Record<string, unknown>): Promise<{ job_id: string; created_at: string }> {
    const res = await api.http.post('/ai/jobs').set(auth()).send({ action, params });
    expect(res.status).toBe(202);
    return res.body;
  }

  async function getJob(id: string) {
    const res = await api.http.get(`/ai/jobs/${id}`).set(auth());
    expect(res.status).toBe(200);
    return res.body;
  }

  async function untilStatus(id: string, status: string, timeoutMs = 8000) {
    return expectEventually(async () => {
      const job = await getJob(id);
      expect({ id, status: job.status }).toEqual({ id, status });
      return job;
    }, timeoutMs);
  }

  const entry = (id: string) => `${WS}:${id}`;

  beforeAll(async () => {
    server = await fileRedis();
    redis = server.redis;
    api = await startApi(server.url, { RATE_LIMIT_MAX: '0' });
  });
  beforeEach(async () => {
    await redis.flushdb();
    key = await api.key(WS, ['actions:execute', 'actions:preview'], 'agent-w');
  });
  afterEach(async () => {
    await stopWorkers();
  });
  afterAll(async () => {
    await stopWorkers();
    await api?.close();
    await server?.stop();
  });

  describe('1. running jobs', () => {
    it('runs debug.echo: pending -> succeeded, result = params (redacted by the API, in full in Redis), times ordered, attempts 1, TTL = retention', async () => {
      const params = { text: 'hello', api_token: 'tok-RUN-secret', nested: { password: 'pw-RUN-secret', keep: [1, 2] } };
      const created = await submit('debug.echo', params);
      expect((await getJob(created.job_id)).status).toBe('pending');

      await startWorker({ JOB_RETENTION_SECONDS: '3600' });
      const job = await untilStatus(created.job_id, 'succeeded');

      expect(job).toMatchObject({
        attempts: 1,
        error: null,
        result: { text: 'hello', api_token: '[REDACTED]', nested: { password: '[REDACTED]', keep: [1, 2] } },
        params: { text: 'hello', api_token: '[REDACTED]', nested: { password: '[REDACTED]', keep: [1, 2] } },
      });
      expect(job.started_at).toEqual(expect.any(String));
      expect(job.finished_at).toEqual(expect.any(String));
      expect(Date.parse(job.started_at)).toBeGreaterThanOrEqual(Date.parse(created.created_at));
      expect(Date.parse(job.finished_at)).toBeGreaterThanOrEqual(Date.parse(job.started_at));

      const record = await redis.hgetall(`ai:jobs:${created.job_id}`);
      expect(record.status).toBe('succeeded');
      expect(JSON.parse(record.result)).toEqual(params);
      const ttl = await redis.ttl(`ai:jobs:${created.job_id}`);
      expect(ttl).toBeGreaterThan(3590);
      expect(ttl).toBeLessThanOrEqual(3600);
      // The worker's bookkeeping is clean afterwards.
      expect(await redis.zcard('ai:queue:leases')).toBe(0);
      expect(await redis.llen('ai:queue:pending')).toBe(0);
      expect(await redis.zrange(`ai:index:${WS}:status:succeeded`, '0', '-1')).toEqual([`${created.created_at}/${created.job_id}`]);
      expect(await redis.zcard(`ai:index:${WS}:status:pending`)).toBe(0);
    });

    it('respects WORKER_CONCURRENCY: 9 debug.sleep(300) jobs with concurrency 3 and WORKER_PREFETCH 2 never run more than 3 at once nor hold more than 5 leases, and all finish', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 9; i++) ids.push((await submit('debug.sleep', { ms: 300 })).job_id);

      const leases: number[] = [];
      const running: number[] = [];
      let sampling = true;
      const sampler = (async () => {
        const probe = redis.duplicate();
        try {
          while (sampling) {
            const [held, started] = await probe.multi().zcard('ai:queue:leases').zcard(`ai:index:${WS}:status:running`).exec().then((r) => r!.map(([, n]) => n as number));
            leases.push(held);
            running.push(started);
            await new Promise((r) => setTimeout(r, 10));
          }
        } finally {
          probe.disconnect();
        }
      })();

      const started = Date.now();
      await startWorker({ WORKER_CONCURRENCY: '3', WORKER_PREFETCH: '2' });
      try {
        await expectEventually(async () => {
          const statuses = await Promise.all(ids.map((id) => redis.hget(`ai:jobs:${id}`, 'status')));
          expect(statuses).toEqual(ids.map(() => 'succeeded'));
        }, 15000);
      } finally {
        sampling = false;
        await sampler;
      }
      const elapsed = Date.now() - started;

      expect(Math.max(...running)).toBeLessThanOrEqual(3);
      expect(Math.max(...running)).toBe(3); // it did run three at once
      // Prefetched jobs are leased but pending: at most concurrency + prefetch leases.
      expect(Math.max(...leases)).toBeLessThanOrEqual(5);
      expect(Math.max(...leases)).toBeGreaterThan(3);
      // Three rounds of 300 ms at the least.
      expect(elapsed).toBeGreaterThanOrEqual(850);
      const jobs = await Promise.all(ids.map(getJob));
      for (const job of jobs) expect(job).toMatchObject({ status: 'succeeded', attempts: 1, result: { slept_ms: 300 } });
      // From the records themselves: never more than 3 running at one instant.
      expect(maxOverlap(jobs.map((j) => ({ start: Date.parse(j.started_at), end: Date.parse(j.finished_at) })))).toBeLessThanOrEqual(3);
    });
  });

  describe('2. retries and dead letters', () => {
    it('debug.fail {times: 2} succeeds on attempt 3; debug.fail always ends failed after 3 attempts with a safe error, in ai:queue:dead', async () => {
      const flaky = await submit('debug.fail', { times: 2 });
      const doomed = await submit('debug.fail', { note: 'always' });
      await startWorker({ JOB_MAX_ATTEMPTS: '3' });

      const ok = await untilStatus(flaky.job_id, 'succeeded');
      expect(ok).toMatchObject({ attempts: 3, result: { attempt: 3 } });

      const failed = await untilStatus(doomed.job_id, 'failed');
      expect(failed.attempts).toBe(3);
      expect(failed.result).toBeNull();
      expect(failed.error).toBe('debug.fail: planned failure on attempt 3');
      expect(failed.error).not.toMatch(/ at |\n/);
      expect(failed.finished_at).toEqual(expect.any(String));

      expect(await redis.lrange('ai:queue:dead', '0', '-1')).toEqual([entry(doomed.job_id)]);
      expect(await redis.zcard('ai:queue:retry')).toBe(0);
      const ttl = await redis.ttl(`ai:jobs:${doomed.job_id}`);
      expect(ttl).toBeGreaterThan(0);
    });

    it('relay dead list shows the dead job; relay dead requeue puts it back (pending, attempts 0, no TTL) and it fails again into the dead list; unknown id exits 1', async () => {
      const doomed = await submit('debug.fail', {});
      await startWorker({ JOB_MAX_ATTEMPTS: '3' });
      await untilStatus(doomed.job_id, 'failed');
      await stopWorkers();

      const listed = await relay('dead', 'list', '--json');
      expect({ code: listed.code, err: listed.err }).toEqual({ code: 0, err: [] });
      expect(JSON.parse(listed.out.join('\n'))).toEqual([{ workspace_id: WS, job_id: doomed.job_id }]);

      const requeued = await relay('dead', 'requeue', '--workspace', WS, doomed.job_id);
      expect({ code: requeued.code, err: requeued.err }).toEqual({ code: 0, err: [] });

      const back = await getJob(doomed.job_id);
      expect(back).toMatchObject({ status: 'pending', attempts: 0, started_at: null, finished_at: null });
      expect(await redis.ttl(`ai:jobs:${doomed.job_id}`)).toBe(-1);
      expect(await redis.lrange('ai:queue:dead', '0', '-1')).toEqual([]);
      expect(await redis.lrange('ai:queue:pending', '0', '-1')).toEqual([entry(doomed.job_id)]);
      const member = `${doomed.created_at}/${doomed.job_id}`;
      expect(await redis.zrange(`ai:index:${WS}:status:pending`, '0', '-1')).toEqual([member]);
      expect(await redis.zcard(`ai:index:${WS}:status:failed`)).toBe(0);

      await startWorker({ JOB_MAX_ATTEMPTS: '3' });
      const again = await untilStatus(doomed.job_id, 'failed');
      expect(again.attempts).toBe(3);
      expect(await redis.lrange('ai:queue:dead', '0', '-1')).toEqual([entry(doomed.job_id)]);

      const unknown = await relay('dead', 'requeue', '--workspace', WS, 'no-such-job');
      expect(unknown.code).toBe(1);
      expect(unknown.out.join('\n')).toMatch(/not in the dead-letter list/);
    });

    it('while a job waits for its retry it is in ai:queue:retry (not pending, not leased) with a due time after the attempt', async () => {
      const job = await submit('debug.fail', {});
      await startWorker({ JOB_MAX_ATTEMPTS: '2', JOB_RETRY_BASE_MS: '300', JOB_RETRY_MAX_MS: '300' });

      const waiting = await expectEventually(async () => {
        const [[, score], [, record]] = (await redis
          .multi()
          .zscore('ai:queue:retry', entry(job.job_id))
          .hgetall(`ai:jobs:${job.job_id}`)
          .exec()) as [[null, string | null], [null, Record<string, string>]];
        expect(score).not.toBeNull();
        return { due: Number(score), record };
      });
      expect(waiting.record).toMatchObject({ status: 'pending', attempts: '1', error: 'debug.fail: planned failure on attempt 1' });
      const attemptStarted = Date.parse(waiting.record.started_at);
      const scheduledAt = Date.parse(waiting.record.updated_at);
      // Due after the attempt began, and within the first backoff ceiling (300 ms) of when it was scheduled.
      // The due time is Redis TIME + delay while updated_at is the worker's clock read just before the
      // call, so the gap between the two (a few ms, more on a loaded CI machine) is allowed for: with a
      // delay drawn up to the ceiling, `≤ scheduledAt + 300` alone failed now and then.
      const clockGapAllowanceMs = 200;
      expect(waiting.due).toBeGreaterThanOrEqual(attemptStarted);
      expect(waiting.due).toBeLessThanOrEqual(scheduledAt + 300 + clockGapAllowanceMs);

      const done = await untilStatus(job.job_id, 'failed');
      expect(done.attempts).toBe(2);
      expect(await redis.zcard('ai:queue:retry')).toBe(0);
    });
  });

  describe('3. timeout', () => {
    it('fails a job that runs past JOB_TIMEOUT_MS with a "timed out" error', async () => {
      const job = await submit('debug.sleep', { ms: 5000 });
      await startWorker({ JOB_TIMEOUT_MS: '200', JOB_MAX_ATTEMPTS: '1' });
      const failed = await untilStatus(job.job_id, 'failed');
      expect(failed.attempts).toBe(1);
      expect(failed.error).toMatch(/timed out/);
      expect(Date.parse(failed.finished_at) - Date.parse(failed.started_at)).toBeLessThan(2000);
      expect(await redis.lrange('ai:queue:dead', '0', '-1')).toEqual([entry(job.job_id)]);
    });
  });

  describe('4. cancelled jobs', () => {
    it('never runs a job cancelled before a worker took it', async () => {
      const cancelled = await submit('debug.echo', { n: 1 });
      expect((await api.http.post(`/ai/jobs/${cancelled.job_id}/cancel`).set(auth())).status).toBe(200);

      await startWorker();
      const marker = await submit('debug.echo', { marker: true });
      await untilStatus(marker.job_id, 'succeeded');

      const job = await getJob(cancelled.job_id);
      expect(job).toMatchObject({ status: 'cancelled', attempts: 0, started_at: null, result: null });
      // Its queue entry was dropped, not left behind or leased.
      expect(await redis.llen('ai:queue:pending')).toBe(0);
      expect(await redis.zcard('ai:queue:leases')).toBe(0);
      expect(await redis.llen('ai:queue:dead')).toBe(0);
    });
  });

  describe('5. permission re-check', () => {
    it.each([
      ['ACTION_DENYLIST debug.echo', { ACTION_DENYLIST: 'debug.echo' }],
      ['ACTION_ALLOWLIST http.post', { ACTION_ALLOWLIST: 'http.post' }],
    ])('fails a job whose action the worker no longer permits (%s): "not permitted", attempts 1, not retried', async (_name, env) => {
      const job = await submit('debug.echo', { n: 1 });
      await startWorker({ ...env, JOB_MAX_ATTEMPTS: '3' });
      const failed = await untilStatus(job.job_id, 'failed');
      expect(failed.attempts).toBe(1);
      expect(failed.error).toMatch(/not permitted/);
      expect(failed.result).toBeNull();
      expect(await redis.zcard('ai:queue:retry')).toBe(0);
      expect(await redis.lrange('ai:queue:dead', '0', '-1')).toEqual([entry(job.job_id)]);
    });
  });

  describe('6. http.post', () => {
    let server: Server;
    let port: number;
    const received: Record<string, unknown[]> = {};
    const hits: Record<string, number> = {};

    beforeAll(async () => {
      server = createServer((req: IncomingMessage, res: ServerResponse) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const path = req.url ?? '/';
          hits[path] = (hits[path] ?? 0) + 1;
          (received[path] ??= []).push(JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null'));
          if (path === '/hang') return; // never answers
          if (path === '/big') {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ pad: 'x'.repeat(2000) }));
            return;
          }
          if (path === '/flaky' && hits[path] === 1) {
            res.writeHead(503, { 'content-type': 'application/json' });
            res.end('{"error":"busy"}');
            return;
          }
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ok: true, path }));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('posts JSON to an allowlisted literal IP; refuses other hosts, allowlisted names of private addresses, oversized answers; retries timeouts and 503', async () => {
      const base = `http://127.0.0.1:${port}`;
      const ok = await submit('http.post', { url: `${base}/ok`, body: { hello: 'world', n: 7 } });
      const otherHost = await submit('http.post', { url: `http://example.com:${port}/other`, body: {} });
      const localhost = await submit('http.post', { url: `http://localhost:${port}/localhost`, body: {} });
      const big = await submit('http.post', { url: `${base}/big`, body: {} });
      const hang = await submit('http.post', { url: `${base}/hang`, body: {} });
      const flaky = await submit('http.post', { url: `${base}/flaky`, body: { try: 1 } });

      await startWorker({
        HTTP_ACTION_ALLOWED_HOSTS: `127.0.0.1:${port},localhost:${port}`,
        HTTP_ACTION_MAX_RESPONSE_BYTES: '1000',
        HTTP_ACTION_TIMEOUT_MS: '200',
        JOB_TIMEOUT_MS: '2000',
        JOB_MAX_ATTEMPTS: '2',
      });

      const okJob = await untilStatus(ok.job_id, 'succeeded');
      expect(okJob).toMatchObject({ attempts: 1, result: { status: 200, body: { ok: true, path: '/ok' } } });
      expect(received['/ok']).toEqual([{ hello: 'world', n: 7 }]);

      const other = await untilStatus(otherHost.job_id, 'failed');
      expect(other.attempts).toBe(1);
      expect(other.error).toMatch(/not on HTTP_ACTION_ALLOWED_HOSTS/);

      const local = await untilStatus(localhost.job_id, 'failed');
      expect(local.attempts).toBe(1);
      expect(local.error).toMatch(/private or loopback/);
      expect(hits['/localhost']).toBeUndefined(); // refused before connecting

      const bigJob = await untilStatus(big.job_id, 'failed');
      expect(bigJob.attempts).toBe(1);
      expect(bigJob.error).toMatch(/larger than 1000 bytes/);

      // A timeout is retryable: two attempts, then failed.
      const hung = await untilStatus(hang.job_id, 'failed');
      expect(hung.attempts).toBe(2);
      expect(hung.error).toMatch(/no answer within 200 ms/);
      expect(hits['/hang']).toBe(2);

      const flakyJob = await untilStatus(flaky.job_id, 'succeeded');
      expect(flakyJob).toMatchObject({ attempts: 2, result: { status: 200, body: { ok: true, path: '/flaky' } } });
      expect(received['/flaky']).toEqual([{ try: 1 }, { try: 1 }]);
    });
  });

  describe('7. fencing', () => {
    it('a worker whose lease expired and was re-delivered cannot write the outcome; the new holder can', async () => {
      // The API's WorkQueue: no consumer runs in this test, the "workers" are w1 and w2.
      const queue = api.app.get(WorkQueue);
      const created = await submit('debug.echo', { n: 1 });
      const claimOptions = { max: 1, leaseMs: 200, maxAttempts: 3, retentionSeconds: 3600 };

      const [asW1] = await queue.claim({ ...claimOptions, workerId: 'w1' });
      expect(asW1).toMatchObject({ jobId: created.job_id, workspaceId: WS, attempts: 1, action: 'debug.echo' });
      expect((await getJob(created.job_id)).status).toBe('running');

      // Lease lapses; a recovery pass re-delivers it.
      await expectEventually(async () => {
        const pass = await queue.recover(1, 3600);
        expect(pass?.expired).toBe(1);
      }, 3000);
      expect(await getJob(created.job_id)).toMatchObject({ status: 'pending', attempts: 1 });
      // Back at the front of its workspace's queue (README "Scheduling"), where the next claim finds it.
      expect(await redis.lrange(`ai:queue:ws:${WS}`, '0', '-1')).toEqual([entry(created.job_id)]);

      const [asW2] = await queue.claim({ ...claimOptions, leaseMs: 5000, workerId: 'w2' });
      expect(asW2).toMatchObject({ jobId: created.job_id, attempts: 2 });
      expect(asW2.token).not.toBe(asW1.token);

      const before = await redis.hgetall(`ai:jobs:${created.job_id}`);
      expect((await queue.finish(asW1, { outcome: 'succeeded', result: { from: 'w1' } }, 3600)).result).toBe('lost');
      expect((await queue.finish(asW1, { outcome: 'failed', error: 'w1 says no' }, 3600)).result).toBe('lost');
      expect(await redis.hgetall(`ai:jobs:${created.job_id}`)).toEqual(before);
      expect(await queue.renew([asW1], 5000)).toEqual({ lost: [entry(created.job_id)], cancelRequested: [] });
      expect(await queue.renew([asW2], 5000)).toEqual({ lost: [], cancelRequested: [] });

      expect((await queue.finish(asW2, { outcome: 'succeeded', result: { from: 'w2' } }, 3600)).result).toBe('done');
      expect(await getJob(created.job_id)).toMatchObject({ status: 'succeeded', attempts: 2, result: { from: 'w2' } });
      expect(await redis.zcard('ai:queue:leases')).toBe(0);
    });
  });

  describe('7a. one finish call for several jobs', () => {
    // finishJobs/claimJobs gather their sorted-set writes and send them per key at the end of a phase.
    it('one finish call records several outcomes and claims the freed slots, a job retried in that call included: indexes, leases and retention match the records', async () => {
      const queue = api.app.get(WorkQueue);
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push((await submit('debug.echo', { n: i })).job_id);
      const options = { leaseMs: 5000, maxAttempts: 3, retentionSeconds: 3600, workerId: 'w1' };
      const first = await queue.claim({ ...options, max: 3 });
      expect(first).toHaveLength(3);
      const [ok, bad, again] = first;
      const fourth = ids.find((id) => !first.some((j) => j.jobId === id))!;

      const { results, claimed } = await queue.finishMany(
        [
          { job: ok, outcome: { outcome: 'succeeded', result: { fine: true } } },
          { job: bad, outcome: { outcome: 'failed', error: 'no' } },
          { job: again, outcome: { outcome: 'retry', error: 'later', delayMs: 0 } },
        ],
        3600,
        { ...options, max: 3 },
      );
      expect(results).toEqual(['done', 'done', 'done']);
      // The retry is due at once: promoted and claimed again in the same call, with the fourth job.
      expect(claimed.map((j) => j.jobId).sort()).toEqual([again.jobId, fourth].sort());
      expect(claimed.find((j) => j.jobId === again.jobId)?.attempts).toBe(2);

      const indexed = async (status: string) => (await redis.zrange(`ai:index:${WS}:status:${status}`, '0', '-1')).map((m) => m.slice(m.indexOf('/') + 1)).sort();
      expect(await indexed('succeeded')).toEqual([ok.jobId]);
      expect(await indexed('failed')).toEqual([bad.jobId]);
      expect(await indexed('running')).toEqual([again.jobId, fourth].sort());
      expect(await indexed('pending')).toEqual([]);
      const leased = (await redis.zrange('ai:queue:leases', '0', '-1')).map((m) => m.slice(0, m.lastIndexOf('|'))).sort();
      expect(leased).toEqual([entry(again.jobId), entry(fourth)].sort());
      // Finished jobs expire with their records; their workspace is in the expiry sweep's registry (no per-job retention entry).
      expect(await redis.zrange('ai:queue:expiring-workspaces', '0', '-1')).toEqual([WS]);
      expect(await redis.zcard('ai:queue:retention')).toBe(0);
      for (const [id, status] of [[ok.jobId, 'succeeded'], [bad.jobId, 'failed'], [again.jobId, 'running'], [fourth, 'running']]) {
        expect((await getJob(id)).status).toBe(status);
      }

      const last = await queue.finishMany(claimed.map((job) => ({ job, outcome: { outcome: 'succeeded' as const, result: null } })), 3600);
      expect(last.results).toEqual(['done', 'done']);
      expect(await indexed('running')).toEqual([]);
      expect(await indexed('succeeded')).toEqual([ok.jobId, again.jobId, fourth].sort());
      expect(await redis.zcard('ai:queue:leases')).toBe(0);
    });

    // Keys of another type stand for corruption; the point is what they cannot do to other jobs.
    it("a broken status index of one workspace strands none of the call's jobs: every job is leased and finishes, the failed index writes are counted", async () => {
      const queue = api.app.get(WorkQueue);
      const failures = async () => (await api.app.get(RelayMetrics).statusUpdateFailures.get()).values.find((v) => v.labels.reason === 'index_write')?.value ?? 0;
      const otherKey = await api.key('beta', ['actions:execute', 'actions:preview'], 'agent-b');
      const other = async () => (await api.http.post('/ai/jobs').set({ Authorization: `Bearer ${otherKey}` }).send({ action: 'debug.echo', params: {} })).body.job_id as string;
      const mine = (await submit('debug.echo', { n: 1 })).job_id;
      const theirs = [await other(), await other()];
      await redis.set(`ai:index:${WS}:status:running`, 'not-a-sorted-set');
      const before = await failures();
      const options = { leaseMs: 5000, maxAttempts: 3, retentionSeconds: 3600, workerId: 'w1' };

      const claimed = await queue.claim({ ...options, max: 10 });
      expect(claimed.map((j) => j.jobId).sort()).toEqual([mine, ...theirs].sort());
      const leased = (await redis.zrange('ai:queue:leases', '0', '-1')).map((m) => m.slice(0, m.lastIndexOf('|'))).sort();
      expect(leased).toEqual([entry(mine), `beta:${theirs[0]}`, `beta:${theirs[1]}`].sort());
      expect(await failures()).toBe(before + 1);
      expect((await redis.zrange('ai:index:beta:status:running', '0', '-1')).length).toBe(2);

      const { results } = await queue.finishMany(claimed.map((job) => ({ job, outcome: { outcome: 'succeeded' as const, result: null } })), 3600);
      expect(results).toEqual(['done', 'done', 'done']);
      expect(await failures()).toBe(before + 2); // the ZREM from acme's broken running index
      expect((await redis.zrange('ai:index:beta:status:succeeded', '0', '-1')).length).toBe(2);
      expect(await redis.zrange(`ai:index:${WS}:status:succeeded`, '0', '-1')).toEqual([expect.stringMatching(new RegExp(`/${mine}$`))]);
      expect(await redis.hget(`ai:jobs:${mine}`, 'status')).toBe('succeeded');
      expect(await redis.zcard('ai:queue:leases')).toBe(0);
    });

    it('a lease set of another type makes claim and finish fail loudly before they change anything; a broken dead-letter list or retry set harms no job', async () => {
      const queue = api.app.get(WorkQueue);
      const failures = async () => (await api.app.get(RelayMetrics).statusUpdateFailures.get()).values.find((v) => v.labels.reason === 'index_write')?.value ?? 0;
      const doomed = (await submit('debug.echo', { n: 1 })).job_id;
      const retried = (await submit('debug.echo', { n: 2 })).job_id;
      const options = { leaseMs: 5000, maxAttempts: 3, retentionSeconds: 3600, workerId: 'w1' };
      const claimed = await queue.claim({ ...options, max: 2 });
      expect(claimed.map((j) => j.jobId).sort()).toEqual([doomed, retried].sort());
      const [doomedJob, retriedJob] = [claimed.find((j) => j.jobId === doomed)!, claimed.find((j) => j.jobId === retried)!];
      await submit('debug.echo', { n: 3 });

      await redis.rename('ai:queue:leases', 'leases-aside');
      await redis.set('ai:queue:leases', 'not-a-sorted-set');
      const dump = async () => Promise.all((await redis.keys('*')).sort().map(async (k) => [k, await redis.type(k), (await redis.dumpBuffer(k))?.toString('hex')]));
      const before = await dump();
      await expect(queue.claim({ ...options, max: 5 })).rejects.toThrow(/ai:queue:leases holds a string, not a zset; nothing was changed/);
      await expect(queue.finishMany([{ job: doomedJob, outcome: { outcome: 'failed', error: 'no' } }], 3600, { ...options, max: 5 })).rejects.toThrow(/nothing was changed/);
      expect(await dump()).toEqual(before);
      await redis.del('ai:queue:leases');
      await redis.rename('leases-aside', 'ai:queue:leases');

      await redis.set('ai:queue:dead', 'not-a-list');
      await redis.set('ai:queue:retry', 'not-a-sorted-set');
      const skippedBefore = await failures();
      const { results } = await queue.finishMany(
        [
          { job: doomedJob, outcome: { outcome: 'failed', error: 'no' } },
          { job: retriedJob, outcome: { outcome: 'retry', error: 'later', delayMs: 60_000 } },
        ],
        3600,
      );
      expect(results).toEqual(['done', 'done']);
      expect(await failures()).toBe(skippedBefore + 2);
      expect(await redis.hget(`ai:jobs:${doomed}`, 'status')).toBe('failed');
      // With no retry set to wait in, the retry is queued at once (the front of its workspace's queue) rather than lost.
      expect(await redis.hget(`ai:jobs:${retried}`, 'status')).toBe('pending');
      expect(await redis.lindex(`ai:queue:ws:${WS}`, -1)).toBe(entry(retried));
    });
  });

  describe('7b. lease renewal', () => {
    it('a job running longer than the lease on a live worker keeps its lease: it runs once, with two workers consuming', async () => {
      const env = { WORKER_LEASE_MS: '400', JOB_TIMEOUT_MS: '5000' };
      await startWorker(env);
      await startWorker(env);
      const job = await submit('debug.sleep', { ms: 1500 });
      const done = await untilStatus(job.job_id, 'succeeded');
      expect(done).toMatchObject({ attempts: 1, result: { slept_ms: 1500 } });
      // Started once: the record was never put back to pending and re-claimed.
      expect(Date.parse(done.finished_at) - Date.parse(done.started_at)).toBeGreaterThanOrEqual(1400);
      expect(await redis.zcard('ai:queue:leases')).toBe(0);
      expect(await redis.llen('ai:queue:pending')).toBe(0);
    });

    it('a job draining during a shutdown grace longer than the lease keeps its lease: it is not re-delivered to another worker', async () => {
      const env = { WORKER_LEASE_MS: '400', JOB_TIMEOUT_MS: '5000', WORKER_SHUTDOWN_GRACE_MS: '4000' };
      const stopping = await startWorker(env);
      const job = await submit('debug.sleep', { ms: 1500 });
      await untilStatus(job.job_id, 'running');
      await startWorker(env); // a live peer that would take the job if its lease lapsed
      await stopping.app.close(); // drains: returns once the job has finished
      workers.splice(workers.indexOf(stopping), 1);
      const done = await getJob(job.job_id);
      expect(done).toMatchObject({ status: 'succeeded', attempts: 1, result: { slept_ms: 1500 } });
      expect(Date.parse(done.finished_at) - Date.parse(done.started_at)).toBeGreaterThanOrEqual(1400);
    });
  });

  describe('8. retention', () => {
    it('a finished job expires after JOB_RETENTION_SECONDS and a recovery pass drops its index entries; pending jobs never expire', async () => {
      const waiting = await submit('debug.echo', { stays: 'pending' });
      expect(await redis.ttl(`ai:jobs:${waiting.job_id}`)).toBe(-1);

      const worker = await startWorker({ JOB_RETENTION_SECONDS: '1' });
      const job = await submit('debug.echo', { n: 1 });
      await untilStatus(job.job_id, 'succeeded');
      const member = `${job.created_at}/${job.job_id}`;
      expect(await redis.ttl(`ai:jobs:${job.job_id}`)).toBeLessThanOrEqual(1);
      expect(await redis.zrange(`ai:index:${WS}:status:succeeded`, '0', '-1')).toContain(member);

      await expectEventually(async () => expect(await redis.exists(`ai:jobs:${job.job_id}`)).toBe(0), 4000);
      await expectEventually(async () => {
        await worker.queue.recover(1, 1);
        expect(await redis.zrange(`ai:index:${WS}:status:succeeded`, '0', '-1')).not.toContain(member);
      }, 4000);
      expect(await redis.zcard('ai:queue:retention')).toBe(0);
      expect((await api.http.get(`/ai/jobs/${job.job_id}`).set(auth())).status).toBe(404);
    });

    it('a pending job has no TTL, before a worker and after a retry is scheduled', async () => {
      const job = await submit('debug.fail', {});
      expect(await redis.ttl(`ai:jobs:${job.job_id}`)).toBe(-1);
      // Full jitter: the retry waits a uniform [0, 10 min), so it is still waiting when the test looks.
      await startWorker({ JOB_RETENTION_SECONDS: '1', JOB_MAX_ATTEMPTS: '2', JOB_RETRY_BASE_MS: '600000', JOB_RETRY_MAX_MS: '600000' });
      await expectEventually(async () => expect(await redis.zscore('ai:queue:retry', entry(job.job_id))).not.toBeNull());
      expect(await redis.hget(`ai:jobs:${job.job_id}`, 'status')).toBe('pending');
      expect(await redis.ttl(`ai:jobs:${job.job_id}`)).toBe(-1);
    });
  });

  describe('9. worker telemetry', () => {
    it('serves /health/live, /health/ready and /metrics on its own port, and nothing else', async () => {
      // Stale values of other applications in this process must not pass the check.
      (register.getSingleMetric('ai_queue_depth') as Gauge<string> | undefined)?.reset();
      const port = await freePort();
      const ok = await submit('debug.echo', { n: 1 });
      const dead1 = await submit('debug.fail', {});
      const dead2 = await submit('debug.fail', {});
      await startWorker({ JOB_MAX_ATTEMPTS: '1', WORKER_PORT: String(port) }, port);
      await untilStatus(ok.job_id, 'succeeded');
      await untilStatus(dead1.job_id, 'failed');
      await untilStatus(dead2.job_id, 'failed');

      const base = `http://127.0.0.1:${port}`;
      const live = await fetch(`${base}/health/live`);
      expect(live.status).toBe(200);
      expect(await live.json()).toEqual({ status: 'ok' });
      const ready = await fetch(`${base}/health/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ok' });

      const text = await expectEventually(async () => {
        const res = await fetch(`${base}/metrics`);
        expect(res.status).toBe(200);
        const body = await res.text();
        expect(sample(body, 'ai_queue_depth', { state: 'dead' })).toBe(2);
        return body;
      }, 6000, 100);
      expect(sample(text, 'ai_queue_depth', { state: 'pending' })).toBe(0);
      expect(sample(text, 'ai_queue_depth', { state: 'running' })).toBe(0);
      expect(sample(text, 'ai_queue_depth', { state: 'retrying' })).toBe(0);
      expect(sample(text, 'ai_jobs_total', { status: 'succeeded', workspace_id: 'unscoped' })).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'ai_jobs_total', { status: 'failed', workspace_id: 'unscoped' })).toBeGreaterThanOrEqual(2);
      expect(text).toMatch(/^ai_jobs_total\{status="succeeded",workspace_id="unscoped"\} \d+/m);
      expect(sample(text, 'ai_job_latency_seconds_count', { status: 'succeeded', workspace_id: 'unscoped' })).toBeGreaterThanOrEqual(1);
      expect(text).not.toContain(ok.job_id);

      // Nothing else is served, not even to a valid API key: the worker has no
      // route but health and metrics, so Nest answers 404 before any guard runs.
      for (const [method, path] of [['GET', '/ai/jobs'], ['GET', `/ai/jobs/${ok.job_id}`], ['POST', '/ai/jobs']]) {
        for (const headers of [{}, auth()]) {
          const res = await fetch(`${base}${path}`, { method, headers: { ...headers, 'content-type': 'application/json' }, body: method === 'POST' ? '{"action":"debug.echo","params":{}}' : undefined });
          const body = await res.text();
          expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
          expect(body).not.toContain('"job_id"');
        }
      }
      expect(await redis.llen('ai:queue:pending')).toBe(0); // the POST created nothing
    });
  });

  describe('10. logs', () => {
    it('no worker log line carries a secret of the params or the result', async () => {
      const secret = 'sk-LOGSECRET-9f3a';
      const resultMarker = 'RESULT-MARKER-77c1';
      const echo = await submit('debug.echo', { api_key: secret, note: resultMarker });
      const failing = await submit('debug.fail', { password: secret, note: resultMarker });
      const refused = await submit('http.post', { url: `http://example.com/hook?token=${secret}`, body: { token: secret } });
      const timedOut = await submit('debug.sleep', { ms: 5000, token: secret });
      const worker = await startWorker({ LOG_LEVEL: 'verbose', JOB_MAX_ATTEMPTS: '2', JOB_TIMEOUT_MS: '300', HTTP_ACTION_ALLOWED_HOSTS: '127.0.0.1' });

      const done = await untilStatus(echo.job_id, 'succeeded');
      expect(done.result).toEqual({ api_key: '[REDACTED]', note: resultMarker });
      const errors = [
        (await untilStatus(failing.job_id, 'failed')).error,
        (await untilStatus(refused.job_id, 'failed')).error,
        (await untilStatus(timedOut.job_id, 'failed')).error,
      ];
      for (const error of errors) expect(error).not.toContain(secret);
      await stopWorkers();

      const lines = [...worker.logs.lines, ...api.logs.lines];
      expect(worker.logs.lines.join('\n')).toMatch(/consuming with concurrency/); // the capture works
      for (const line of lines) {
        expect(line).not.toContain(secret);
        expect(line).not.toContain(resultMarker);
      }
    });
  });
});
