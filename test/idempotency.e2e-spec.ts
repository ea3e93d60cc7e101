import type { Redis } from 'ioredis';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { expectEventually } from './support/expect-eventually.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * SPEC section 4, "Idempotency": a repeat of a request with the same
 * client_request_id (or Idempotency-Key header) in the same workspace returns
 * the original job (200, Idempotent-Replayed: true); the same key with a
 * different payload is 422; concurrent identical requests create exactly one
 * job; keys are scoped per workspace and kept 24 h (section 2 key schema).
 */
describe('idempotency of job and plan submission (real Redis)', () => {
  let api: ApiHarness;
  let redis: Redis;
  let server: FileRedis;
  let acmeKey: string;
  let globexKey: string;
  const acme = () => ({ Authorization: `Bearer ${acmeKey}` });
  const globex = () => ({ Authorization: `Bearer ${globexKey}` });

  /** Every key matching `pattern` in this file's database, by SCAN (never KEYS). */
  async function scanKeys(pattern: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      found.push(...keys);
      cursor = next;
    } while (cursor !== '0');
    return [...new Set(found)].sort();
  }
  const jobKeys = () => scanKeys('ai:jobs:*');
  const queueLength = () => redis.llen('ai:queue:pending');

  beforeAll(async () => {
    server = await fileRedis();
    redis = server.redis;
    api = await startApi(server.url);
  });
  beforeEach(async () => {
    // Each test starts from an empty database (this file's own server), so counts are exact.
    await redis.flushdb();
    acmeKey = await api.key('acme', ['actions:execute', 'actions:preview'], 'agent-1');
    globexKey = await api.key('globex', ['actions:execute', 'actions:preview'], 'agent-2');
  });
  afterAll(async () => {
    await api?.close();
    await server?.stop();
  });

  it('replays a repeat with the same client_request_id: 200, Idempotent-Replayed: true, the original job, one job in Redis', async () => {
    const body = { action: 'debug.echo', params: { text: 'hi' }, client_request_id: 'req-1' };
    const first = await api.http.post('/ai/jobs').set(acme()).send(body);
    expect(first.status).toBe(202);
    expect(first.headers['idempotent-replayed']).toBeUndefined();

    const again = await api.http.post('/ai/jobs').set(acme()).send(body);
    expect(again.status).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual({ job_id: first.body.job_id, status: 'pending', created_at: first.body.created_at });
    expect(again.headers.location).toBe(`/ai/jobs/${first.body.job_id}`);

    expect(await jobKeys()).toEqual([`ai:jobs:${first.body.job_id}`]);
    expect(await queueLength()).toBe(1);
    expect(await redis.zcard('ai:index:acme:status:pending')).toBe(1);
    expect(await redis.hget(`ai:jobs:${first.body.job_id}`, 'client_request_id')).toBe('req-1');
  });

  it('replays with the current status of the original job (a repeat after cancel reports cancelled, creates nothing)', async () => {
    const body = { action: 'debug.echo', params: {}, client_request_id: 'req-cancelled' };
    const first = await api.http.post('/ai/jobs').set(acme()).send(body);
    expect(first.status).toBe(202);
    expect((await api.http.post(`/ai/jobs/${first.body.job_id}/cancel`).set(acme())).status).toBe(200);

    const again = await api.http.post('/ai/jobs').set(acme()).send(body);
    expect(again.status).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toMatchObject({ job_id: first.body.job_id, status: 'cancelled', created_at: first.body.created_at });
    expect(await jobKeys()).toHaveLength(1);
  });

  it('accepts the Idempotency-Key header as an alias of client_request_id (header first, then body with the same value: replay)', async () => {
    const first = await api.http.post('/ai/jobs').set(acme()).set('Idempotency-Key', 'alias-1').send({ action: 'debug.echo', params: { n: 1 } });
    expect(first.status).toBe(202);
    expect(await redis.get('ai:idempotency:acme:alias-1')).toBe(first.body.job_id);
    expect(await redis.hget(`ai:jobs:${first.body.job_id}`, 'client_request_id')).toBe('alias-1');

    const viaBody = await api.http.post('/ai/jobs').set(acme()).send({ action: 'debug.echo', params: { n: 1 }, client_request_id: 'alias-1' });
    expect(viaBody.status).toBe(200);
    expect(viaBody.headers['idempotent-replayed']).toBe('true');
    expect(viaBody.body.job_id).toBe(first.body.job_id);

    const both = await api.http
      .post('/ai/jobs')
      .set(acme())
      .set('Idempotency-Key', 'alias-1')
      .send({ action: 'debug.echo', params: { n: 1 }, client_request_id: 'alias-1' });
    expect(both.status).toBe(200);
    expect(both.body.job_id).toBe(first.body.job_id);

    expect(await jobKeys()).toHaveLength(1);
    expect(await queueLength()).toBe(1);
  });

  it('answers 400 when the Idempotency-Key header and client_request_id differ, and writes nothing', async () => {
    const res = await api.http
      .post('/ai/jobs')
      .set(acme())
      .set('Idempotency-Key', 'header-value')
      .send({ action: 'debug.echo', params: {}, client_request_id: 'body-value' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request', request_id: expect.any(String) });
    expect(JSON.stringify(res.body.message)).toMatch(/Idempotency-Key/);
    expect(await jobKeys()).toEqual([]);
    expect(await scanKeys('ai:idempotency:*')).toEqual([]);
    expect(await queueLength()).toBe(0);

    const plan = await api.http
      .post('/ai/plans')
      .set(acme())
      .set('Idempotency-Key', 'header-value')
      .send({ steps: [{ action: 'debug.echo', params: {} }], client_request_id: 'body-value' });
    expect(plan.status).toBe(400);
    expect(await jobKeys()).toEqual([]);
  });

  it('answers 422 for the same key with different params or a different action, and writes nothing new', async () => {
    const first = await api.http.post('/ai/jobs').set(acme()).send({ action: 'debug.echo', params: { n: 1 }, client_request_id: 'req-422' });
    expect(first.status).toBe(202);
    const ttlBefore = await redis.ttl('ai:idempotency:acme:req-422');

    const otherParams = await api.http.post('/ai/jobs').set(acme()).send({ action: 'debug.echo', params: { n: 2 }, client_request_id: 'req-422' });
    expect(otherParams.status).toBe(422);
    expect(otherParams.body).toMatchObject({ statusCode: 422, error: 'Unprocessable Entity', message: expect.any(String), request_id: expect.any(String) });
    expect(otherParams.headers['idempotent-replayed']).toBeUndefined();

    const otherAction = await api.http.post('/ai/jobs').set(acme()).send({ action: 'debug.sleep', params: { n: 1 }, client_request_id: 'req-422' });
    expect(otherAction.status).toBe(422);

    const noParams = await api.http.post('/ai/jobs').set(acme()).send({ action: 'debug.echo', client_request_id: 'req-422' });
    expect(noParams.status).toBe(422);

    expect(await jobKeys()).toEqual([`ai:jobs:${first.body.job_id}`]);
    expect(await queueLength()).toBe(1);
    expect(await redis.zcard('ai:index:acme:status:pending')).toBe(1);
    expect(await redis.get('ai:idempotency:acme:req-422')).toBe(first.body.job_id);
    expect(await redis.ttl('ai:idempotency:acme:req-422')).toBeLessThanOrEqual(ttlBefore);
  });

  it('ignores the order of param keys (at every depth): the reordered payload is a replay', async () => {
    const first = await api.http
      .post('/ai/jobs')
      .set(acme())
      .send({ action: 'debug.echo', params: { a: 1, b: { x: 1, y: [1, { p: 1, q: 2 }] }, c: 'z' }, client_request_id: 'order-1' });
    expect(first.status).toBe(202);
    const reordered = await api.http
      .post('/ai/jobs')
      .set(acme())
      .send({ client_request_id: 'order-1', params: { c: 'z', b: { y: [1, { q: 2, p: 1 }], x: 1 }, a: 1 }, action: 'debug.echo' });
    expect(reordered.status).toBe(200);
    expect(reordered.headers['idempotent-replayed']).toBe('true');
    expect(reordered.body.job_id).toBe(first.body.job_id);

    // Array order is part of the payload: reordering an array is a different request.
    const arrayReordered = await api.http
      .post('/ai/jobs')
      .set(acme())
      .send({ action: 'debug.echo', params: { a: 1, b: { x: 1, y: [{ p: 1, q: 2 }, 1] }, c: 'z' }, client_request_id: 'order-1' });
    expect(arrayReordered.status).toBe(422);
    expect(await jobKeys()).toHaveLength(1);
  });

  it('scopes keys per workspace: the same client_request_id in two workspaces creates two jobs', async () => {
    const body = { action: 'debug.echo', params: { same: true }, client_request_id: 'shared-id' };
    const a = await api.http.post('/ai/jobs').set(acme()).send(body);
    const g = await api.http.post('/ai/jobs').set(globex()).send(body);
    expect(a.status).toBe(202);
    expect(g.status).toBe(202);
    expect(g.headers['idempotent-replayed']).toBeUndefined();
    expect(g.body.job_id).not.toBe(a.body.job_id);

    expect(await redis.get('ai:idempotency:acme:shared-id')).toBe(a.body.job_id);
    expect(await redis.get('ai:idempotency:globex:shared-id')).toBe(g.body.job_id);
    expect(await jobKeys()).toHaveLength(2);
    expect(await redis.hget(`ai:jobs:${g.body.job_id}`, 'workspace_id')).toBe('globex');
    expect(await queueLength()).toBe(2);

    // And each workspace's repeat replays its own job.
    const aAgain = await api.http.post('/ai/jobs').set(acme()).send(body);
    const gAgain = await api.http.post('/ai/jobs').set(globex()).send(body);
    expect([aAgain.status, aAgain.body.job_id]).toEqual([200, a.body.job_id]);
    expect([gAgain.status, gAgain.body.job_id]).toEqual([200, g.body.job_id]);
  });

  it('stores ai:idempotency:{ws}:{crid} as a string holding the job id with a TTL of about 24 h', async () => {
    const res = await api.http.post('/ai/jobs').set(acme()).send({ action: 'debug.echo', params: {}, client_request_id: 'ttl-1' });
    expect(res.status).toBe(202);
    expect(await redis.type('ai:idempotency:acme:ttl-1')).toBe('string');
    expect(await redis.get('ai:idempotency:acme:ttl-1')).toBe(res.body.job_id);
    const ttl = await redis.ttl('ai:idempotency:acme:ttl-1');
    expect(ttl).toBeGreaterThanOrEqual(86000);
    expect(ttl).toBeLessThanOrEqual(86400);
    // A job submitted without a key leaves no idempotency key behind.
    await api.http.post('/ai/jobs').set(acme()).send({ action: 'debug.echo', params: {} }).expect(202);
    expect(await scanKeys('ai:idempotency:*')).toEqual(['ai:idempotency:acme:ttl-1']);
  });

  it('creates exactly one job from 60 concurrent identical submissions: one 202, 59 replays, one queue entry', async () => {
    const body = { action: 'debug.echo', params: { burst: true }, client_request_id: 'burst-1' };
    const responses = await Promise.all(Array.from({ length: 60 }, () => api.http.post('/ai/jobs').set(acme()).send(body)));

    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(59);
    const ids = new Set(responses.map((r) => r.body.job_id));
    expect(ids.size).toBe(1);
    const [jobId] = [...ids];
    for (const r of responses.filter((x) => x.status === 200)) expect(r.headers['idempotent-replayed']).toBe('true');

    expect(await jobKeys()).toEqual([`ai:jobs:${jobId}`]);
    expect(await queueLength()).toBe(1);
    expect(await redis.lrange('ai:queue:pending', 0, -1)).toEqual([`acme:${jobId}`]);
    expect(await redis.zcard('ai:index:acme:status:pending')).toBe(1);
    expect(await redis.get('ai:idempotency:acme:burst-1')).toBe(jobId);
  });

  it('creates exactly one plan from 50 concurrent identical plan submissions', async () => {
    const body = { steps: [1, 2, 3].map((n) => ({ action: 'debug.echo', params: { n } })), client_request_id: 'plan-burst' };
    const responses = await Promise.all(Array.from({ length: 50 }, () => api.http.post('/ai/plans').set(acme()).send(body)));
    expect(responses.filter((r) => r.status === 202)).toHaveLength(1);
    expect(responses.filter((r) => r.status === 200)).toHaveLength(49);
    const created = responses.find((r) => r.status === 202)!.body.job_ids as string[];
    for (const r of responses) expect(r.body.job_ids).toEqual(created);
    expect(await jobKeys()).toHaveLength(3);
    expect(await queueLength()).toBe(3);
  });

  it('replays a plan with the same client_request_id (200, same job_ids), and refuses that key for a single job or another plan (422)', async () => {
    const steps = [1, 2, 3].map((n) => ({ action: 'debug.echo', params: { n } }));
    const first = await api.http.post('/ai/plans').set(acme()).send({ steps, client_request_id: 'plan-1' });
    expect(first.status).toBe(202);
    expect(first.body.job_ids).toHaveLength(3);
    expect(await redis.get('ai:idempotency:acme:plan-1')).toBe(first.body.job_ids[0]);

    const again = await api.http.post('/ai/plans').set(acme()).send({ steps, client_request_id: 'plan-1' });
    expect(again.status).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body.job_ids).toEqual(first.body.job_ids);

    const viaHeader = await api.http.post('/ai/plans').set(acme()).set('Idempotency-Key', 'plan-1').send({ steps });
    expect(viaHeader.status).toBe(200);
    expect(viaHeader.body.job_ids).toEqual(first.body.job_ids);

    // A single job reusing the plan's key (even with the plan's first step as payload) is a different request.
    const single = await api.http.post('/ai/jobs').set(acme()).send({ ...steps[0], client_request_id: 'plan-1' });
    expect(single.status).toBe(422);
    // Another plan (a step fewer, or different params) under the same key.
    const shorter = await api.http.post('/ai/plans').set(acme()).send({ steps: steps.slice(0, 2), client_request_id: 'plan-1' });
    expect(shorter.status).toBe(422);
    const changed = await api.http
      .post('/ai/plans')
      .set(acme())
      .send({ steps: [steps[0], steps[1], { action: 'debug.echo', params: { n: 99 } }], client_request_id: 'plan-1' });
    expect(changed.status).toBe(422);

    expect(await jobKeys()).toHaveLength(3);
    expect(await queueLength()).toBe(3);
  });

  it('refuses a plan that reuses a single job client_request_id (422), even with one identical step', async () => {
    const step = { action: 'debug.echo', params: { n: 1 } };
    const single = await api.http.post('/ai/jobs').set(acme()).send({ ...step, client_request_id: 'single-1' });
    expect(single.status).toBe(202);
    const plan = await api.http.post('/ai/plans').set(acme()).send({ steps: [step], client_request_id: 'single-1' });
    expect(plan.status).toBe(422);
    expect(await jobKeys()).toHaveLength(1);
    expect(await queueLength()).toBe(1);
  });

  it('a repeat after the original job expired (retention shorter than the 24 h key) is 410 with the original job id, never a second job', async () => {
    // The store writes a key only with its job, so a key whose job is missing means the job expired.
    const shortRetention = await startApi(server.url, { JOB_RETENTION_SECONDS: '1' });
    try {
      const body = { action: 'debug.echo', params: {}, client_request_id: 'expired-1' };
      const first = await shortRetention.http.post('/ai/jobs').set(acme()).send(body);
      expect(first.status).toBe(202);
      // Cancelled = finished: it expires after JOB_RETENTION_SECONDS, the key stays for 24 h.
      expect((await shortRetention.http.post(`/ai/jobs/${first.body.job_id}/cancel`).set(acme())).status).toBe(200);
      await expectEventually(async () => expect(await redis.exists(`ai:jobs:${first.body.job_id}`)).toBe(0), 5000);
      const keysBefore = await jobKeys();
      const queued = await queueLength();

      for (const again of [body, { ...body, params: { other: true } }]) {
        const res = await shortRetention.http.post('/ai/jobs').set(acme()).send(again);
        expect(res.status).toBe(410);
        expect(res.body).toMatchObject({ statusCode: 410, error: 'Gone', job_id: first.body.job_id });
        expect(res.body.message).toMatch(/expired/);
      }
      const header = await shortRetention.http.post('/ai/jobs').set({ ...acme(), 'Idempotency-Key': 'expired-1' }).send({ action: 'debug.echo', params: {} });
      expect([header.status, header.body.job_id]).toEqual([410, first.body.job_id]);
      expect(await jobKeys()).toEqual(keysBefore);
      expect(await queueLength()).toBe(queued);
      expect(await redis.get('ai:idempotency:acme:expired-1')).toBe(first.body.job_id);
      expect(await redis.ttl('ai:idempotency:acme:expired-1')).toBeGreaterThan(86000);
    } finally {
      await shortRetention.close();
    }
  });

  it('a key whose job is gone answers 410 for a plan too, naming the first job id', async () => {
    await redis.set('ai:idempotency:acme:gone-plan', 'no-such-job_0', 'EX', 86400);
    const res = await api.http.post('/ai/plans').set(acme()).send({ steps: [{ action: 'debug.echo', params: {} }], client_request_id: 'gone-plan' });
    expect([res.status, res.body.job_id]).toEqual([410, 'no-such-job_0']);
    expect(await redis.get('ai:idempotency:acme:gone-plan')).toBe('no-such-job_0');
  });

  it('replays for another API key (another actor) of the same workspace: keys are per workspace, not per actor', async () => {
    const otherActor = await api.key('acme', ['actions:execute'], 'agent-9');
    const body = { action: 'debug.echo', params: { n: 1 }, client_request_id: 'actor-1' };
    const first = await api.http.post('/ai/jobs').set(acme()).send(body);
    const second = await api.http.post('/ai/jobs').set({ Authorization: `Bearer ${otherActor}` }).send(body);
    expect(first.status).toBe(202);
    expect([second.status, second.body.job_id]).toEqual([200, first.body.job_id]);
    expect(await jobKeys()).toHaveLength(1);
  });

  it('never replays a job of another workspace, even when a key names it', async () => {
    const theirs = await api.http.post('/ai/jobs').set(globex()).send({ action: 'debug.echo', params: {} });
    expect(theirs.status).toBe(202);
    await redis.set('ai:idempotency:acme:cross-1', theirs.body.job_id, 'EX', 86400);

    // Not acme's job, so for acme it does not exist: 410 (what the key names), never a replay of globex's job.
    const mine = await api.http.post('/ai/jobs').set(acme()).send({ action: 'debug.echo', params: {}, client_request_id: 'cross-1' });
    expect(mine.status).toBe(410);
    expect(mine.headers['idempotent-replayed']).toBeUndefined();
    expect(Object.keys(mine.body).sort()).toEqual(['error', 'job_id', 'message', 'request_id', 'statusCode']);
    expect(await redis.get('ai:idempotency:acme:cross-1')).toBe(theirs.body.job_id);
    expect(await redis.hget(`ai:jobs:${theirs.body.job_id}`, 'workspace_id')).toBe('globex');
    expect(await redis.hget(`ai:jobs:${theirs.body.job_id}`, 'status')).toBe('pending');
  });
  /** The same guarantees in the migration phases that write the scoped schema (SPEC section 3). */
  describe.each([
    { phase: 'phase 1 (dual-write)', env: { AI_JOBS_NEW_SCHEMA: 'on' } as Record<string, string>, legacy: 1, scoped: 1 },
    { phase: 'phase 4 (legacy writes off)', env: { AI_JOBS_NEW_SCHEMA: 'on', READ_PREFERS_NEW: 'on', READ_FALLBACK_OLD: 'off', AI_JOBS_LEGACY_WRITES: 'off' } as Record<string, string>, legacy: 0, scoped: 1 },
  ])('in $phase', ({ env, legacy, scoped }) => {
    let phased: ApiHarness;
    beforeAll(async () => {
      phased = await startApi(server.url, env);
    });
    afterAll(async () => {
      await phased?.close();
    });

    it('replays a repeat, refuses a changed payload, and creates one job from 50 concurrent submissions', async () => {
      const body = { action: 'debug.echo', params: { a: 1, b: 2 }, client_request_id: 'phase-1' };
      const responses = await Promise.all(Array.from({ length: 50 }, () => phased.http.post('/ai/jobs').set(acme()).send(body)));
      expect(responses.filter((r) => r.status === 202)).toHaveLength(1);
      expect(responses.filter((r) => r.status === 200 && r.headers['idempotent-replayed'] === 'true')).toHaveLength(49);
      const jobId = responses[0].body.job_id as string;
      for (const r of responses) expect(r.body.job_id).toBe(jobId);

      const reordered = await phased.http.post('/ai/jobs').set(acme()).send({ ...body, params: { b: 2, a: 1 } });
      expect([reordered.status, reordered.body.job_id]).toEqual([200, jobId]);
      const changed = await phased.http.post('/ai/jobs').set(acme()).send({ ...body, params: { a: 1, b: 3 } });
      expect(changed.status).toBe(422);

      expect(await jobKeys()).toHaveLength(legacy);
      expect(await scanKeys('ai:job:acme:*')).toHaveLength(scoped);
      expect(await queueLength()).toBe(1);
      expect(await redis.get('ai:idempotency:acme:phase-1')).toBe(jobId);
      expect((await phased.http.get(`/ai/jobs/${jobId}`).set(acme())).status).toBe(200);
    });

    it('replays a plan, and a key whose job is gone is 410 in this phase too', async () => {
      const steps = [1, 2].map((n) => ({ action: 'debug.echo', params: { n } }));
      const first = await phased.http.post('/ai/plans').set(acme()).send({ steps, client_request_id: 'phase-plan' });
      const again = await phased.http.post('/ai/plans').set(acme()).send({ steps, client_request_id: 'phase-plan' });
      expect(first.status).toBe(202);
      expect([again.status, again.body.job_ids]).toEqual([200, first.body.job_ids]);
      expect(await scanKeys('ai:job:acme:*')).toHaveLength(2 * scoped);

      await redis.set('ai:idempotency:acme:phase-stale', 'gone-job', 'EX', 86400);
      const again2 = await phased.http.post('/ai/jobs').set(acme()).send({ action: 'debug.echo', params: {}, client_request_id: 'phase-stale' });
      expect([again2.status, again2.body.job_id]).toEqual([410, 'gone-job']);
      expect(await redis.get('ai:idempotency:acme:phase-stale')).toBe('gone-job');
    });
  });

  it('replays across a phase change: a job created under legacy-only writes is replayed by a dual-writing API', async () => {
    const body = { action: 'debug.echo', params: { n: 1 }, client_request_id: 'across-1' };
    const first = await api.http.post('/ai/jobs').set(acme()).send(body);
    expect(first.status).toBe(202);
    const dual = await startApi(server.url, { AI_JOBS_NEW_SCHEMA: 'on', READ_PREFERS_NEW: 'on' });
    try {
      const again = await dual.http.post('/ai/jobs').set(acme()).send(body);
      expect([again.status, again.body.job_id]).toEqual([200, first.body.job_id]);
      expect(await jobKeys()).toHaveLength(1);
      expect(await scanKeys('ai:job:*')).toEqual([]);
    } finally {
      await dual.close();
    }
  });
});
