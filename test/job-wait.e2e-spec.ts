import type { INestApplication } from '@nestjs/common';
import { EventHub } from '@relay/queue';
import { createWorkerApp } from '../apps/worker/src/worker.app.js';
import { BUILT_INS, CapturingLogger, startApi, type ApiHarness } from './support/api-harness.js';
import { expectEventually } from './support/expect-eventually.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * Issue 15, point 3: GET /ai/jobs/{id}?wait=N, with the real API and a real
 * worker on one Redis. The answer comes when the job becomes final (a final
 * event of the job, read from the workspace's stream), or after N seconds
 * with the job as it is; Relay-Job-Final says which.
 */
describe('GET /ai/jobs/{id}?wait=N', () => {
  let server: FileRedis;
  let api: ApiHarness;
  let worker: INestApplication;
  let key: string;
  const auth = (k = key) => ({ Authorization: `Bearer ${k}` });

  async function submit(body: Record<string, unknown>, k = key): Promise<string> {
    const res = await api.http.post('/ai/jobs').set(auth(k)).send(body);
    expect(res.status).toBe(202);
    return res.body.job_id;
  }
  /** GET with wait, and how long it took. */
  async function waitFor(id: string, wait: string | number, k = key) {
    const started = Date.now();
    const res = await api.http.get(`/ai/jobs/${id}?wait=${wait}`).set(auth(k));
    return { res, tookMs: Date.now() - started };
  }

  beforeAll(async () => {
    server = await fileRedis();
    api = await startApi(server.url, { RATE_LIMIT_MAX: '0' });
    key = await api.key('acme');
    worker = await createWorkerApp({ REDIS_URL: server.url, ACTION_ALLOWLIST: BUILT_INS, JOB_MAX_ATTEMPTS: '1' }, new CapturingLogger());
    await worker.init();
  });
  afterAll(async () => {
    await worker?.close();
    await api?.close();
    await server?.stop();
  });

  it('answers as soon as the job is final, not after the wait, with Relay-Job-Final: true', async () => {
    const id = await submit({ action: 'debug.sleep', params: { ms: 500 } });
    const { res, tookMs } = await waitFor(id, 25);
    expect({ status: res.status, final: res.headers['relay-job-final'], job: res.body.status, result: res.body.result }).toEqual({ status: 200, final: 'true', job: 'succeeded', result: { slept_ms: 500 } });
    // Had it waited the 25 s out, the job would have been final long before.
    expect(tookMs).toBeLessThan(20_000);
    const failed = await submit({ action: 'debug.fail' });
    const answer = await waitFor(failed, 25);
    expect({ final: answer.res.headers['relay-job-final'], job: answer.res.body.status }).toEqual({ final: 'true', job: 'failed' });
  });

  it('after N seconds answers the job as it is, with Relay-Job-Final: false', async () => {
    const id = await submit({ action: 'debug.echo', run_at: new Date(Date.now() + 3_600_000).toISOString() });
    const { res, tookMs } = await waitFor(id, 1);
    expect({ status: res.status, final: res.headers['relay-job-final'], job: res.body.status }).toEqual({ status: 200, final: 'false', job: 'pending' });
    expect(tookMs).toBeGreaterThanOrEqual(1000);
  });

  it('ends a wait when the job is cancelled meanwhile', async () => {
    const id = await submit({ action: 'debug.echo', delay_ms: 3_600_000 });
    const waiting = waitFor(id, 25);
    // The cancel lands while the wait is on: once the wait follows the workspace's events.
    await expectEventually(() => expect(api.app.get(EventHub).subscribers).toBe(1));
    expect((await api.http.post(`/ai/jobs/${id}/cancel`).set(auth())).status).toBe(200);
    const { res, tookMs } = await waiting;
    expect({ final: res.headers['relay-job-final'], job: res.body.status }).toEqual({ final: 'true', job: 'cancelled' });
    expect(tookMs).toBeLessThan(20_000);
  });

  it('answers at once without wait, with wait=0 and for a job already final; the header is on every answer', async () => {
    const pending = await submit({ action: 'debug.echo', delay_ms: 3_600_000 });
    for (const path of [`/ai/jobs/${pending}`, `/ai/jobs/${pending}?wait=0`]) {
      const res = await api.http.get(path).set(auth());
      expect({ status: res.status, final: res.headers['relay-job-final'] }).toEqual({ status: 200, final: 'false' });
    }
    const done = await submit({ action: 'debug.echo' });
    await waitFor(done, 25);
    const { res, tookMs } = await waitFor(done, 30);
    expect({ final: res.headers['relay-job-final'], tookLessThanTheWait: tookMs < 20_000 }).toEqual({ final: 'true', tookLessThanTheWait: true });
  });

  it('refuses a wait outside 0-30 whole seconds with 400, and answers 404 for a missing or another workspace\'s job at once', async () => {
    const id = await submit({ action: 'debug.echo' });
    for (const wait of ['31', '-1', '1.5', 'abc', '', '030', '1e1']) {
      const res = await api.http.get(`/ai/jobs/${id}?wait=${encodeURIComponent(wait)}`).set(auth());
      expect({ wait, status: res.status, message: res.body.message }).toEqual({ wait, status: 400, message: ['wait must be a whole number of seconds from 0 to 30'] });
    }
    expect((await api.http.get(`/ai/jobs/${id}?wait=1&wait=2`).set(auth())).status).toBe(400);
    const theirs = await submit({ action: 'debug.echo', delay_ms: 3_600_000 }, await api.key('beta'));
    for (const missing of [theirs, 'no-such-job']) {
      const { res, tookMs } = await waitFor(missing, 25);
      expect({ status: res.status, message: res.body.message }).toEqual({ status: 404, message: 'job not found' });
      expect(tookMs).toBeLessThan(20_000);
    }
  });
});
