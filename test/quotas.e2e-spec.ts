import type { INestApplication } from '@nestjs/common';
import { WorkQueue } from '@relay/queue';
import { createWorkerApp } from '../apps/worker/src/worker.app.js';
import { BUILT_INS, startApi, type ApiHarness } from './support/api-harness.js';
import { expectEventually } from './support/expect-eventually.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * Issue 12, point 3: per-workspace quotas, so one tenant cannot fill Redis
 * for everyone. WORKSPACE_MAX_STORED_JOBS (a submit beyond is 429) and
 * RESULT_MAX_BYTES (a larger result fails the job, never stored cut), with
 * per-workspace overrides in WORKSPACE_LIMITS.
 */
const LIMITS = JSON.stringify({ vip: { max_stored_jobs: 8, result_max_bytes: 10_000 } });

describe('per-workspace quotas', () => {
  let server: FileRedis;
  let api: ApiHarness;
  const auth = async (ws: string) => ({ Authorization: `Bearer ${await api.key(ws)}` });

  beforeAll(async () => {
    server = await fileRedis();
    api = await startApi(server.url, { WORKSPACE_MAX_STORED_JOBS: '5', RESULT_MAX_BYTES: '100', WORKSPACE_LIMITS: LIMITS, JOB_RETENTION_SECONDS: '1', RATE_LIMIT_MAX: '0' });
  });
  afterAll(async () => {
    await api?.close();
    await server?.stop();
  });

  it('a submit that would take a workspace past WORKSPACE_MAX_STORED_JOBS is 429 with a clear message, writes nothing, and leaves replays and other workspaces alone', async () => {
    const acme = await auth('acme');
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await api.http.post('/ai/jobs').set(acme).send({ action: 'debug.echo', params: { i }, client_request_id: `q-${i}` })).body.job_id);
    const plan = await api.http.post('/ai/plans').set(acme).send({ steps: [1, 2].map((n) => ({ action: 'debug.echo', params: { n } })) });
    expect(plan.status).toBe(429);
    expect(plan.body.message).toMatch(/workspace quota: 4 jobs stored, at most 5 \(WORKSPACE_MAX_STORED_JOBS or WORKSPACE_LIMITS\)/);
    expect((await api.http.post('/ai/jobs').set(acme).send({ action: 'debug.echo', params: { i: 4 } })).status).toBe(202);
    const over = await api.http.post('/ai/jobs').set(acme).send({ action: 'debug.echo', params: { i: 5 } });
    expect([over.status, over.body.error]).toEqual([429, 'Too Many Requests']);
    expect(await server.redis.zcard('ai:index:acme:status:pending')).toBe(5);
    expect(await server.redis.llen('ai:queue:pending')).toBe(5);
    // A replay creates nothing, so the quota does not stand in its way.
    const replay = await api.http.post('/ai/jobs').set(acme).send({ action: 'debug.echo', params: { i: 0 }, client_request_id: 'q-0' });
    expect([replay.status, replay.body.job_id]).toEqual([200, ids[0]]);
    // Another workspace has its own count; vip its own quota (8).
    const vip = await auth('vip');
    for (let i = 0; i < 8; i++) expect((await api.http.post('/ai/jobs').set(vip).send({ action: 'debug.echo', params: { i } })).status).toBe(202);
    expect((await api.http.post('/ai/jobs').set(vip).send({ action: 'debug.echo', params: {} })).status).toBe(429);

    // Finished jobs free their place when they expire and the recovery pass's expiry sweep drops their index entries.
    expect((await api.http.post(`/ai/jobs/${ids[1]}/cancel`).set(acme)).status).toBe(200);
    expect((await api.http.post('/ai/jobs').set(acme).send({ action: 'debug.echo', params: { i: 6 } })).status).toBe(429); // a cancelled job counts until it expires
    await expectEventually(async () => expect(await server.redis.exists(`ai:jobs:${ids[1]}`)).toBe(0), 5000);
    await expectEventually(async () => {
      await api.app.get(WorkQueue).recover(1, 1);
      expect(await server.redis.zcard('ai:index:acme:status:cancelled')).toBe(0);
    }, 5000);
    expect(await server.redis.zcard('ai:index:acme:status:pending')).toBe(4);
    expect((await api.http.post('/ai/jobs').set(acme).send({ action: 'debug.echo', params: { again: true } })).status).toBe(202);
  });

  it('a result larger than RESULT_MAX_BYTES fails the job with a clear error, no retry, nothing stored; WORKSPACE_LIMITS raises it for one workspace', async () => {
    await server.redis.flushdb();
    let worker: INestApplication | undefined;
    try {
      const params = { text: 'y'.repeat(200) }; // debug.echo returns its params: ~213 bytes of JSON
      const small = await api.http.post('/ai/jobs').set(await auth('acme')).send({ action: 'debug.echo', params });
      const vip = await api.http.post('/ai/jobs').set(await auth('vip')).send({ action: 'debug.echo', params });
      worker = await createWorkerApp({ REDIS_URL: server.url, ACTION_ALLOWLIST: BUILT_INS, RESULT_MAX_BYTES: '100', WORKSPACE_LIMITS: LIMITS, JOB_RETRY_BASE_MS: '10' }, false);
      await worker.init();
      const status = (id: string) => server.redis.hmget(`ai:jobs:${id}`, 'status', 'attempts', 'result', 'error');
      await expectEventually(async () => {
        const [state, attempts, result, error] = await status(small.body.job_id);
        expect([state, attempts, result]).toEqual(['failed', '1', '']);
        expect(error).toMatch(/^result too large: 2\d\d bytes of JSON, the workspace's limit is 100 \(RESULT_MAX_BYTES\)$/);
      }, 8000);
      await expectEventually(async () => expect((await status(vip.body.job_id))[0]).toBe('succeeded'), 8000);
      expect(JSON.parse((await status(vip.body.job_id))[2]!)).toEqual(params);
    } finally {
      await worker?.close();
    }
  });
});
