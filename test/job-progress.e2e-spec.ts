import type { INestApplication } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { register } from 'prom-client';
import { WorkQueue } from '@relay/queue';
import { createWorkerApp } from '../apps/worker/src/worker.app.js';
import { BUILT_INS, CapturingLogger, startApi, type ApiHarness } from './support/api-harness.js';
import { jobEvents } from './support/event-stream.js';
import { expectEventually } from './support/expect-eventually.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * Issue 15, point 6: progress reported by actions (README "Progress"), end to
 * end on the real API and a real worker, on this file's own Redis, in the
 * dual-write phase so that every job has two copies (both must show it).
 * debug.sleep reports after every `progress_every_ms`.
 */
const WS = 'acme';
const FLAGS = { AI_JOBS_NEW_SCHEMA: 'on' };
const INTERVAL_MS = 1000;

/** The counts of relay_job_progress_reports_total by result (the in-process API and worker share the registry). */
async function reportCounts(): Promise<Record<string, number>> {
  const values = (await register.getSingleMetric('relay_job_progress_reports_total')?.get())?.values ?? [];
  const counts: Record<string, number> = { written: 0, superseded: 0, lost: 0, failed: 0 };
  for (const v of values) counts[String(v.labels.result)] += v.value;
  return counts;
}
const delta = (after: Record<string, number>, before: Record<string, number>) => Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - before[k]]));

describe('action progress (real API, real worker, real Redis, two copies per job)', () => {
  let server: FileRedis;
  let redis: Redis;
  let api: ApiHarness;
  let worker: INestApplication | undefined;
  let key: string;
  const auth = () => ({ Authorization: `Bearer ${key}` });

  async function submit(body: Record<string, unknown>): Promise<string> {
    const res = await api.http.post('/ai/jobs').set(auth()).send(body);
    expect(res.status).toBe(202);
    return res.body.job_id;
  }
  const view = async (id: string) => (await api.http.get(`/ai/jobs/${id}`).set(auth())).body;
  const untilStatus = (id: string, status: string) =>
    expectEventually(async () => {
      const job = await view(id);
      expect({ id, status: job.status }).toEqual({ id, status });
      return job;
    }, 15000);
  /** progress and progress_message of both copies. */
  const copies = (id: string) => Promise.all([redis.hmget(`ai:jobs:${id}`, 'progress', 'progress_message'), redis.hmget(`ai:job:${WS}:${id}`, 'progress', 'progress_message')]);
  /** Writes a run of `ms` may make: the first at once, one per interval after it, and the last report's at the end. */
  const writeBound = (job: { started_at: string; finished_at: string }) => 2 + Math.ceil((Date.parse(job.finished_at) - Date.parse(job.started_at)) / INTERVAL_MS);

  beforeAll(async () => {
    server = await fileRedis();
    redis = server.redis;
    api = await startApi(server.url, { ...FLAGS, RATE_LIMIT_MAX: '0' });
    key = await api.key(WS, ['actions:execute', 'actions:preview'], 'agent-p');
  });
  afterEach(async () => {
    await worker?.close();
    worker = undefined;
  });
  afterAll(async () => {
    await api?.close();
    await server?.stop();
  });

  async function startWorker(): Promise<void> {
    worker = await createWorkerApp({ ...FLAGS, REDIS_URL: server.url, ACTION_ALLOWLIST: BUILT_INS, PROGRESS_MIN_INTERVAL_MS: String(INTERVAL_MS) }, new CapturingLogger());
    await worker.init();
  }

  it('stores what the action reports on every copy, shows it in the job and in list items while it runs, and writes the last report before the outcome', async () => {
    await startWorker();
    const before = await reportCounts();
    const id = await submit({ action: 'debug.sleep', params: { ms: 3000, progress_every_ms: 250 } });
    const running = await expectEventually(async () => {
      const job = await view(id);
      expect(job).toMatchObject({ status: 'running', progress: expect.any(Number), progress_message: expect.stringMatching(/^slept \d+ of 3000 ms$/) });
      expect(job.progress).toBeLessThan(100);
      return job;
    }, 15000);
    const [legacy, scoped] = await copies(id);
    expect(legacy).toEqual(scoped);
    expect(Number(legacy[0])).toBeGreaterThanOrEqual(running.progress);
    const page = await api.http.get('/ai/jobs?status=running').set(auth());
    expect(page.body.items).toEqual([expect.objectContaining({ job_id: id, progress: expect.any(Number), progress_message: expect.stringMatching(/^slept /) })]);

    const done = await untilStatus(id, 'succeeded');
    // The last report (100) waited for its interval when the action returned: written before the outcome.
    expect(done).toMatchObject({ progress: 100, progress_message: 'slept 3000 of 3000 ms', result: { slept_ms: 3000 } });
    expect(await copies(id)).toEqual([
      ['100', 'slept 3000 of 3000 ms'],
      ['100', 'slept 3000 of 3000 ms'],
    ]);
    const counts = delta(await reportCounts(), before);
    expect(counts).toMatchObject({ lost: 0, failed: 0 });
    expect(counts.written + counts.superseded).toBe(12);
    expect(counts.written).toBeLessThanOrEqual(writeBound(done));
    // One `progress` event per write, in the attempt, before the outcome's.
    const events = await jobEvents(redis, WS, id);
    const progress = events.filter((e) => e.f.type === 'progress');
    expect(progress).toHaveLength(counts.written);
    expect(progress.at(-1)!.f).toMatchObject({ status: 'running', attempt: '1', progress: '100', message: 'slept 3000 of 3000 ms' });
    expect(events.map((e) => e.f.type)).toEqual(['created', 'started', ...progress.map(() => 'progress'), 'succeeded']);
  });

  it('makes a bounded number of writes for a chatty action: 1,000 reports in about a second, the latest winning', async () => {
    await startWorker();
    const before = await reportCounts();
    const id = await submit({ action: 'debug.sleep', params: { ms: 1000, progress_every_ms: 1 } });
    const done = await untilStatus(id, 'succeeded');
    expect(done).toMatchObject({ progress: 100, progress_message: 'slept 1000 of 1000 ms' });
    const counts = delta(await reportCounts(), before);
    expect(counts).toMatchObject({ lost: 0, failed: 0 });
    expect(counts.written + counts.superseded).toBe(1000);
    expect(counts.written).toBeGreaterThanOrEqual(2);
    expect(counts.written).toBeLessThanOrEqual(writeBound(done));
    expect((await jobEvents(redis, WS, id)).filter((e) => e.f.type === 'progress')).toHaveLength(counts.written);
  });

  it('writes only under the lease: an attempt whose lease was lost cannot write over the next one, and a job sent back to pending loses its progress', async () => {
    const queue = api.app.get(WorkQueue);
    const claim = { max: 1, maxAttempts: 3, retentionSeconds: 3600 };
    const id = await submit({ action: 'debug.echo' });
    const [first] = await queue.claim({ ...claim, workerId: 'w1', leaseMs: 1 });
    expect(await queue.reportProgress(first, 30, 'first attempt')).toBe('done');
    expect(await view(id)).toMatchObject({ status: 'running', progress: 30, progress_message: 'first attempt' });
    // Its lease lapsed: recovery sends it back to pending, without the attempt's figures.
    await expectEventually(async () => expect(await queue.recover(1, 3600)).toMatchObject({ expired: 1 }));
    expect(await view(id)).toMatchObject({ status: 'pending', progress: null, progress_message: null });
    const [second] = await queue.claim({ ...claim, workerId: 'w2', leaseMs: 30000 });
    expect(second.jobId).toBe(id);
    expect(await queue.reportProgress(first, 90, 'first attempt')).toBe('lost');
    expect(await queue.reportProgress(second, 10, 'second attempt')).toBe('done');
    expect(await view(id)).toMatchObject({ status: 'running', attempts: 2, progress: 10, progress_message: 'second attempt' });

    // Released (a worker's shutdown): pending again, without the attempt's figures, in both copies.
    expect(await queue.release([second], 3600)).toEqual({ released: 1, cancelled: 0 });
    expect(await view(id)).toMatchObject({ status: 'pending', progress: null, progress_message: null });
    expect(await copies(id)).toEqual([
      [null, null],
      [null, null],
    ]);
    const [third] = await queue.claim({ ...claim, workerId: 'w3', leaseMs: 30000 });
    expect((await queue.finish(third, { outcome: 'succeeded', result: {} }, 3600)).result).toBe('done');
    expect(await queue.reportProgress(third, 50, 'too late')).toBe('lost');
    expect(await view(id)).toMatchObject({ status: 'succeeded', progress: null });
  });
});
