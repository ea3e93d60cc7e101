import type { INestApplication } from '@nestjs/common';
import { createWorkerApp } from '../apps/worker/src/worker.app.js';
import { BUILT_INS, CapturingLogger, startApi, type ApiHarness } from './support/api-harness.js';
import { expectEventually } from './support/expect-eventually.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * Issue 16, point 3 (worker side): one line per attempt, one per dead
 * letter, and the job's ids on every line written while an attempt runs,
 * read from the lines the real logger prints (CapturingLogger.records).
 */
type LogRecord = Record<string, unknown> & { message?: Record<string, unknown> };
const WS = 'acme';
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const SECRET = 'param-value-never-logged';

describe('worker logs', () => {
  let server: FileRedis;
  let api: ApiHarness;
  let key: string;

  beforeAll(async () => {
    server = await fileRedis();
    api = await startApi(server.url);
    key = await api.key(WS);
  });
  afterAll(async () => {
    await api.close();
    await server.stop();
  });

  async function startWorker(env: Record<string, string>): Promise<{ app: INestApplication; records: () => LogRecord[] }> {
    const logs = new CapturingLogger();
    const app = await createWorkerApp(
      { REDIS_URL: server.url, ACTION_ALLOWLIST: BUILT_INS, WORKER_LEASE_MS: '1000', JOB_RETRY_BASE_MS: '20', JOB_RETRY_MAX_MS: '50', WORKER_SHUTDOWN_GRACE_MS: '500', ...env },
      logs,
    );
    await app.init();
    return { app, records: () => logs.records as LogRecord[] };
  }

  async function submit(action: string, params: Record<string, unknown>): Promise<string> {
    const res = await api.http.post('/ai/jobs').set({ Authorization: `Bearer ${key}` }).send({ action, params });
    expect(res.status).toBe(202);
    return res.body.job_id as string;
  }

  const linesOf = (records: LogRecord[], event: string, jobId: string) => records.filter((r) => r.message?.event === event && r.message?.job_id === jobId);
  const outcomes = (records: LogRecord[], jobId: string) => linesOf(records, 'job_attempt', jobId).map((r) => [r.message?.attempt, r.message?.outcome]);

  it('one line per attempt (job, workspace, action, attempt, outcome, duration) and one warning per dead letter; never params', async () => {
    const worker = await startWorker({ JOB_MAX_ATTEMPTS: '2' });
    try {
      const echoed = await submit('debug.echo', { note: SECRET });
      const recovered = await submit('debug.fail', { times: 1, note: SECRET });
      const dead = await submit('debug.fail', { note: SECRET });
      await expectEventually(() => {
        const records = worker.records();
        expect(outcomes(records, echoed)).toEqual([[1, 'succeeded']]);
        expect(outcomes(records, recovered)).toEqual([[1, 'retry'], [2, 'succeeded']]);
        expect(outcomes(records, dead)).toEqual([[1, 'retry'], [2, 'failed']]);
      }, 10_000);
      const records = worker.records();
      const [line] = linesOf(records, 'job_attempt', echoed);
      expect(line).toMatchObject({ level: 'log', context: 'JobAttempt' });
      expect(line.timestamp).toMatch(ISO);
      expect(line.message).toEqual({ event: 'job_attempt', job_id: echoed, workspace_id: WS, action: 'debug.echo', attempt: 1, outcome: 'succeeded', duration_ms: expect.any(Number) });

      expect(linesOf(records, 'job_dead_letter', dead)).toEqual([
        expect.objectContaining({ level: 'warn', message: { event: 'job_dead_letter', job_id: dead, workspace_id: WS, action: 'debug.fail', attempts: 2 } }),
      ]);
      expect(records.filter((r) => r.message?.event === 'job_dead_letter')).toHaveLength(1);
      expect(JSON.stringify(records)).not.toContain(SECRET);
    } finally {
      await worker.app.close();
    }
  });

  it("lines written while attempts run carry their own job's ids; attempts stopped by a shutdown are logged abandoned", async () => {
    const worker = await startWorker({ WORKER_CONCURRENCY: '2', WORKER_SHUTDOWN_GRACE_MS: '100', JOB_TIMEOUT_MS: '30000' });
    let closed = false;
    try {
      const ids = [await submit('debug.sleep', { ms: 20_000 }), await submit('debug.sleep', { ms: 20_000 })];
      await expectEventually(async () => {
        for (const id of ids) expect((await api.http.get(`/ai/jobs/${id}`).set({ Authorization: `Bearer ${key}` })).body.status).toBe('running');
      });
      await worker.app.close();
      closed = true;
      const records = worker.records();
      for (const id of ids) {
        // The runner's warning about the stopped action is written inside the attempt.
        const inside = records.filter((r) => r.context === 'JobRunner' && String(r.message).includes(id));
        expect(inside).toHaveLength(1);
        expect(inside[0]).toMatchObject({ job_id: id, workspace_id: WS });
        expect(outcomes(records, id)).toEqual([[1, 'abandoned']]);
      }
      // Lines of the worker itself (not of an attempt) carry no job id.
      expect(records.find((r) => r.context === 'JobConsumer' && String(r.message).includes('consuming with concurrency'))).not.toHaveProperty('job_id');
    } finally {
      if (!closed) await worker.app.close();
    }
  });

  it('a job failed at claim because its workers kept dying (its attempts spent) is logged as a dead letter too', async () => {
    const id = await submit('debug.echo', { note: SECRET });
    // As if two workers had claimed it and died: its attempts are spent before any worker of ours claims it.
    await server.redis.hset(`ai:jobs:${id}`, 'attempts', '2');
    const worker = await startWorker({ JOB_MAX_ATTEMPTS: '2' });
    try {
      await expectEventually(async () => expect(await server.redis.hget(`ai:jobs:${id}`, 'status')).toBe('failed'));
      await expectEventually(() =>
        expect(linesOf(worker.records(), 'job_dead_letter', id)).toEqual([
          expect.objectContaining({
            level: 'warn',
            message: { event: 'job_dead_letter', job_id: id, workspace_id: WS, action: 'debug.echo', attempts: 2, reason: 'interrupted on every attempt' },
          }),
        ]),
      );
      expect(linesOf(worker.records(), 'job_attempt', id)).toEqual([]);
      expect(JSON.stringify(worker.records())).not.toContain(SECRET);
    } finally {
      await worker.app.close();
    }
  });
});
