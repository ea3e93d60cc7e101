import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { QueueScripts } from '@relay/queue';
import { RedisKeys } from '@relay/redis';
import { RelayMetrics } from '@relay/telemetry';
import { createWorkerApp } from '../apps/worker/src/worker.app.js';
import { BUILT_INS, CapturingLogger, startApi, type ApiHarness } from './support/api-harness.js';
import { killAllApps, spawnApp, stopApp, waitAppReady, type AppProcess } from './support/app-process.js';
import { expectEventually } from './support/expect-eventually.js';
import { freePort } from './support/redis-server.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * Issue 14, points 3–5 through real workers: delayed jobs run once due, by
 * Redis time, across a worker restart and within the documented tolerance
 * (README "Scheduling": at most 1 s when a slot is free); an action's "retry
 * after N ms" defers its job without using an attempt, up to
 * JOB_MAX_DEFERRALS; the wait and held-back metrics count them.
 */
describe('delayed jobs and deferrals through real workers', () => {
  let r: FileRedis;
  let api: ApiHarness;
  let key: string;

  beforeAll(async () => {
    r = await fileRedis();
    api = await startApi(r.url);
    key = await api.key('acme');
  });
  afterAll(async () => {
    await killAllApps();
    await api.close();
    await r.stop();
  });

  async function submit(body: Record<string, unknown>): Promise<string> {
    const res = await api.http.post('/ai/jobs').set({ Authorization: `Bearer ${key}` }).send(body);
    expect(res.status).toBe(202);
    return res.body.job_id;
  }
  const record = (id: string) => r.redis.hgetall(RedisKeys.legacyJob(id));

  async function workerProcess(): Promise<AppProcess> {
    const app = spawnApp('worker', { REDIS_URL: r.url, WORKER_PORT: String(await freePort()), ACTION_ALLOWLIST: BUILT_INS, LOG_LEVEL: 'warn' });
    await waitAppReady(app);
    return app;
  }

  it('a delayed job waits out a worker restart and runs once due, never before (Redis time)', async () => {
    let worker = await workerProcess();
    const delayed = await submit({ action: 'debug.echo', params: { n: 1 }, delay_ms: 1500 });
    const now = await submit({ action: 'debug.echo', params: { n: 2 } });
    await expectEventually(async () => expect((await record(now)).status).toBe('succeeded'));
    expect((await record(delayed)).status).toBe('pending');
    await stopApp(worker);
    // Due while no worker runs; the next worker claims it at once.
    await expectEventually(async () => {
      const [seconds] = await r.redis.time();
      expect(Number(seconds) * 1000).toBeGreaterThan(Date.parse((await record(delayed)).run_at) + 200);
    }, 5000, 50);
    expect((await record(delayed)).status).toBe('pending');
    worker = await workerProcess();
    await expectEventually(async () => expect((await record(delayed)).status).toBe('succeeded'));
    const rec = await record(delayed);
    expect(Date.parse(rec.started_at)).toBeGreaterThanOrEqual(Date.parse(rec.run_at));
    await stopApp(worker);
  });

  it('with a worker running, a delayed job starts after its due time and within the 1 s tolerance', async () => {
    const worker = await workerProcess();
    try {
      const ids: string[] = [];
      for (const delay of [300, 700, 900]) ids.push(await submit({ action: 'debug.echo', params: { delay }, delay_ms: delay }));
      await expectEventually(async () => expect(new Set(await Promise.all(ids.map(async (id) => (await record(id)).status)))).toEqual(new Set(['succeeded'])));
      for (const id of ids) {
        const rec = await record(id);
        const late = Date.parse(rec.started_at) - Date.parse(rec.run_at);
        expect({ id, late, early: late < 0, withinTolerance: late <= 1000 }).toMatchObject({ early: false, withinTolerance: true });
      }
    } finally {
      await stopApp(worker);
    }
  });

  it('a run of 1,000 cancelled jobs ahead of a job: the worker claims on without waiting a blocking second per claim budget', async () => {
    const scripts = new QueueScripts(r.redis);
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await api.http
        .post('/ai/plans')
        .set({ Authorization: `Bearer ${key}` })
        .send({ steps: Array.from({ length: 100 }, (_, n) => ({ action: 'debug.echo', params: { n } })) });
      expect(res.status).toBe(202);
      ids.push(...res.body.job_ids);
    }
    for (const id of ids) expect((await scripts.cancelJob('acme', id, 3600, 'legacy')).outcome).toBe('cancelled');
    const real = await submit({ action: 'debug.echo', params: { real: true } });
    const worker = await workerProcess();
    // From the moment the worker is ready (by Redis's clock, as started_at is): its start-up is not the claim loop's time.
    const [seconds, micros] = (await r.redis.time()) as [string | number, string | number];
    const readyAt = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    try {
      await expectEventually(async () => expect((await record(real)).status).toBe('succeeded'), 10_000, 20);
      // A claim of 10 reads at most 140 entries; blocking 1 s after each would take ~7 s to reach the job.
      const rec = await record(real);
      expect(Date.parse(rec.started_at) - readyAt).toBeLessThan(4000);
      expect(new Set(await Promise.all(ids.map(async (id) => (await record(id)).status)))).toEqual(new Set(['cancelled']));
    } finally {
      await stopApp(worker);
    }
  });

  describe('an action that says "retry after N ms" (http.post on a 429)', () => {
    let server: Server;
    let port: number;
    /** Status codes the server answers, in turn; 200 once they run out. */
    let script: number[] = [];

    beforeAll(async () => {
      server = createServer((req, res) => {
        req.resume();
        const status = script.shift() ?? 200;
        res.writeHead(status, { 'content-type': 'application/json', ...(status === 429 ? { 'retry-after': '0' } : {}) });
        res.end('{}');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    async function worker(env: Record<string, string>): Promise<INestApplication> {
      const app = await createWorkerApp(
        { REDIS_URL: r.url, ACTION_ALLOWLIST: BUILT_INS, HTTP_ACTION_ALLOWED_HOSTS: `127.0.0.1:${port}`, JOB_RETRY_BASE_MS: '10', JOB_RETRY_MAX_MS: '20', ...env },
        new CapturingLogger(),
      );
      await app.init();
      return app;
    }
    const heldBack = async (app: INestApplication) =>
      (await app.get(RelayMetrics).jobsHeldBack.get()).values.filter((v) => v.labels.reason === 'retry_after').reduce((n, v) => n + v.value, 0);

    it('deferred twice, then succeeds on its first attempt; counted as held back, its wait observed once', async () => {
      const app = await worker({ JOB_MAX_ATTEMPTS: '1' });
      try {
        const metrics = app.get(RelayMetrics);
        const waitsBefore = (await metrics.jobWait.get()).values.find((v) => v.metricName === 'relay_job_wait_seconds_count')?.value ?? 0;
        const heldBefore = await heldBack(app);
        script = [429, 429];
        const id = await submit({ action: 'http.post', params: { url: `http://127.0.0.1:${port}/hook`, body: { a: 1 } } });
        await expectEventually(async () => expect((await record(id)).status).toBe('succeeded'));
        const rec = await record(id);
        // JOB_MAX_ATTEMPTS is 1: had a deferral used an attempt, the job would have failed.
        expect({ attempts: rec.attempts, deferrals: rec.deferrals }).toEqual({ attempts: '1', deferrals: '2' });
        expect((await heldBack(app)) - heldBefore).toBe(2);
        const waitsAfter = (await metrics.jobWait.get()).values.find((v) => v.metricName === 'relay_job_wait_seconds_count')?.value ?? 0;
        expect(waitsAfter - waitsBefore).toBe(1);
      } finally {
        await app.close();
      }
    });

    it('past JOB_MAX_DEFERRALS a deferral is an ordinary retry that uses attempts', async () => {
      const app = await worker({ JOB_MAX_DEFERRALS: '1', JOB_MAX_ATTEMPTS: '2' });
      try {
        script = [429, 429, 429, 429];
        const id = await submit({ action: 'http.post', params: { url: `http://127.0.0.1:${port}/hook`, body: { a: 1 } } });
        await expectEventually(async () => expect((await record(id)).status).toBe('failed'));
        const rec = await record(id);
        expect({ attempts: rec.attempts, deferrals: rec.deferrals }).toEqual({ attempts: '2', deferrals: '1' });
        expect(rec.error).toContain('JOB_MAX_DEFERRALS');
        expect(await r.redis.lrange(RedisKeys.deadLetters, 0, -1)).toContain(`acme:${id}`);
      } finally {
        script = [];
        await app.close();
      }
    });
  });
});
