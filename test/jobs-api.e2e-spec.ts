import type { Redis } from 'ioredis';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { JOB_FIELDS } from '@relay/queue';
import { fileRedis, type FileRedis } from './support/redis.js';

describe('job API on a real Redis (default phase: legacy schema)', () => {
  let api: ApiHarness;
  let redis: Redis;
  let server: FileRedis;
  let key: string;
  const auth = () => ({ Authorization: `Bearer ${key}` });

  const predecessorRecord = (jobId: string, workspaceId: string, createdAt: string) => ({
    job_id: jobId, workspace_id: workspaceId, actor_id: 'old', action_provider: 'gmail', action_name: 'send',
    params: '{"to":"x@example.com","password":"p"}', status: 'succeeded', attempts: '1', result: '{"ok":true}', error: '',
    client_request_id: '', created_at: createdAt, updated_at: createdAt, started_at: createdAt, finished_at: createdAt,
  });

  beforeAll(async () => {
    server = await fileRedis();
    redis = server.redis;
    // Written by the predecessor system before Relay first starts: no index entries.
    await redis.hset('ai:jobs:pre-1', predecessorRecord('pre-1', 'acme', '2025-10-17T10:15:00.000Z'));
    await redis.hset('ai:jobs:pre-2', predecessorRecord('pre-2', 'other', '2025-10-17T10:16:00.000Z'));
    await redis.hset('ai:jobs:pre-bad', predecessorRecord('pre-bad', 'Not Valid!', '2025-10-17T10:17:00.000Z'));
    // No worker runs here: a cancel of a running job waits only briefly before its 202.
    api = await startApi(server.url, { CANCEL_WAIT_MS: '100' });
    key = await api.key('acme', ['actions:execute', 'actions:preview'], 'agent-7');
  });
  afterAll(async () => {
    await api?.close();
    await server?.stop();
  });

  it('submits a job: 202, Location, and the legacy record, index entry and queue entry in Redis', async () => {
    const res = await api.http.post('/ai/jobs').set(auth()).send({ action: 'debug.echo', params: { text: 'hi' } });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ job_id: expect.any(String), status: 'pending', created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) });
    expect(res.headers.location).toBe(`/ai/jobs/${res.body.job_id}`);

    // Every field of JOB_FIELDS but run_at (written only on a job given a due time), and nothing else
    // (the create script writes the initial values itself).
    const record = await redis.hgetall(`ai:jobs:${res.body.job_id}`);
    expect(record).toEqual({
      job_id: res.body.job_id,
      workspace_id: 'acme',
      actor_id: 'agent-7',
      action_provider: 'debug',
      action_name: 'echo',
      params: '{"text":"hi"}',
      status: 'pending',
      attempts: '0',
      result: '',
      error: '',
      client_request_id: '',
      created_at: res.body.created_at,
      updated_at: res.body.created_at,
      started_at: '',
      finished_at: '',
      request_hash: '',
    });
    expect(Object.keys(record).sort()).toEqual(JOB_FIELDS.filter((f) => f !== 'run_at').sort());
    expect(await redis.exists(`ai:job:acme:${res.body.job_id}`)).toBe(0);
    expect(await redis.lrange('ai:queue:pending', 0, -1)).toContain(`acme:${res.body.job_id}`);
    // One index entry: the pending index (no all-jobs index; an unfiltered list merges the status indexes).
    expect(await redis.zrange('ai:index:acme:status:pending', '0', '-1')).toContain(`${res.body.created_at}/${res.body.job_id}`);
    expect(await redis.exists('ai:index:acme')).toBe(0);
    expect(await redis.ttl(`ai:jobs:${res.body.job_id}`)).toBe(-1);
  });

  it('reads a job back with its fields', async () => {
    const { body: created } = await api.http.post('/ai/jobs').set(auth()).send({ action: 'debug.echo', params: { n: 1 } });
    const res = await api.http.get(`/ai/jobs/${created.job_id}`).set(auth());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      job_id: created.job_id,
      workspace_id: 'acme',
      action: 'debug.echo',
      params: { n: 1 },
      status: 'pending',
      attempts: 0,
      result: null,
      error: null,
      created_at: created.created_at,
      started_at: null,
      finished_at: null,
    });
  });

  it('reads a record written by the predecessor system (no index entry, no Relay fields)', async () => {
    await redis.hset('ai:jobs:legacy-1', {
      job_id: 'legacy-1', workspace_id: 'acme', actor_id: 'old', action_provider: 'gmail', action_name: 'send',
      params: '{"to":"x@example.com","password":"p"}', status: 'succeeded', attempts: '1', result: '{"ok":true}', error: '',
      client_request_id: '', created_at: '2025-10-17T10:15:00.000Z', updated_at: '2025-10-17T10:15:01.000Z',
      started_at: '2025-10-17T10:15:00.500Z', finished_at: '2025-10-17T10:15:01.000Z',
    });
    const res = await api.http.get('/ai/jobs/legacy-1').set(auth());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ job_id: 'legacy-1', action: 'gmail.send', status: 'succeeded', result: { ok: true }, params: { to: 'x@example.com', password: '[REDACTED]' } });
  });

  it("lists the predecessor's records of this workspace once they are indexed at start-up, and skips invalid ones", async () => {
    const page = await api.http.get('/ai/jobs?limit=100').set(auth());
    expect(page.status).toBe(200);
    const ids = (page.body.items as { job_id: string }[]).map((i) => i.job_id);
    expect(ids).toContain('pre-1');
    expect(ids).not.toContain('pre-2');
    expect(ids).not.toContain('pre-bad');
    expect(ids[ids.length - 1]).toBe('pre-1'); // oldest last
    expect(await redis.zrange('ai:index:acme:status:succeeded', '0', '-1')).toEqual(['2025-10-17T10:15:00.000Z/pre-1']);
    expect(await redis.get('ai:migration:legacy-indexed')).not.toBeNull();
  });

  it('cancels a pending job once: 200 then 409, and the record says cancelled with an expiry', async () => {
    const { body: created } = await api.http.post('/ai/jobs').set(auth()).send({ action: 'debug.echo', params: {} });
    const first = await api.http.post(`/ai/jobs/${created.job_id}/cancel`).set(auth());
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ job_id: created.job_id, status: 'cancelled', finished_at: expect.any(String) });
    const again = await api.http.post(`/ai/jobs/${created.job_id}/cancel`).set(auth());
    expect(again.status).toBe(409);
    expect(again.body.message).toMatch(/cancelled/);
    expect(await redis.ttl(`ai:jobs:${created.job_id}`)).toBeGreaterThan(86000);
    expect(await redis.zrange('ai:index:acme:status:cancelled', '0', '-1')).toContain(`${created.created_at}/${created.job_id}`);
    expect(await redis.zrange('ai:index:acme:status:pending', '0', '-1')).not.toContain(`${created.created_at}/${created.job_id}`);
  });

  it('asks for the stop of a running job: 202 once the wait is over with no worker to stop it, the request recorded; 409 once it is final', async () => {
    const { body: created } = await api.http.post('/ai/jobs').set(auth()).send({ action: 'debug.echo', params: {} });
    await redis.hset(`ai:jobs:${created.job_id}`, 'status', 'running');
    const res = await api.http.post(`/ai/jobs/${created.job_id}/cancel`).set(auth());
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ job_id: created.job_id, status: 'running', cancel: 'requested' });
    expect(await redis.smembers('ai:queue:cancel-requests')).toContain(`acme:${created.job_id}`);
    expect((await api.http.get(`/ai/jobs/${created.job_id}`).set(auth())).body.status).toBe('running');
    await redis.hset(`ai:jobs:${created.job_id}`, 'status', 'succeeded');
    const final = await api.http.post(`/ai/jobs/${created.job_id}/cancel`).set(auth());
    expect(final.status).toBe(409);
    expect(final.body.message).toBe('job is succeeded; only a job that has not finished can be cancelled');
  });

  it('answers 404 for an absent job on get and cancel', async () => {
    expect((await api.http.get('/ai/jobs/no-such-job').set(auth())).status).toBe(404);
    expect((await api.http.post('/ai/jobs/no-such-job/cancel').set(auth())).status).toBe(404);
  });

  it('submits a plan atomically: 202 with every job id, all pending, in order', async () => {
    const steps = [1, 2, 3].map((n) => ({ action: 'debug.echo', params: { n } }));
    const res = await api.http.post('/ai/plans').set(auth()).send({ steps });
    expect(res.status).toBe(202);
    expect(res.body.job_ids).toHaveLength(3);
    for (const [i, id] of (res.body.job_ids as string[]).entries()) {
      const job = await api.http.get(`/ai/jobs/${id}`).set(auth());
      expect(job.body).toMatchObject({ status: 'pending', params: { n: i + 1 } });
    }
  });

  it('refuses a plan over PLAN_MAX_STEPS with 400 and writes nothing', async () => {
    const before = await redis.llen('ai:queue:pending');
    const steps = Array.from({ length: 101 }, () => ({ action: 'debug.echo', params: {} }));
    const res = await api.http.post('/ai/plans').set(auth()).send({ steps });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.message)).toMatch(/at most 100 steps/);
    expect(await redis.llen('ai:queue:pending')).toBe(before);
  });
});
