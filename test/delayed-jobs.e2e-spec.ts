import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import type { Response } from 'supertest';
import { RedisKeys } from '@relay/redis';
import { RelayClient } from '../clients/typescript/src/index.js';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { runRelay } from './support/cli-runner.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * Issue 14, point 4, the API and store side: `run_at` / `delay_ms` on
 * POST /ai/jobs and on each plan step. A job not yet due by Redis's clock is
 * stored `pending` with `run_at` and its queue entry waits in the delayed
 * set (scored by its due time) instead of the pending list; a job due now
 * or earlier is queued at once. Read back from Redis and through the API;
 * no worker runs here (claiming due entries is the worker's part).
 */

const DELAYED = RedisKeys.delayedQueue;
const PENDING = RedisKeys.pendingQueue;
const DAY_MS = 24 * 60 * 60 * 1000;

describe('delayed jobs: run_at and delay_ms through the API', () => {
  let server: FileRedis;
  let redis: Redis;
  let api: ApiHarness;
  let key: string;
  const auth = () => ({ Authorization: `Bearer ${key}` });
  const submit = (body: object) => api.http.post('/ai/jobs').set(auth()).send(body);
  const plan = (body: object) => api.http.post('/ai/plans').set(auth()).send(body);
  const view = async (jobId: string) => (await api.http.get(`/ai/jobs/${jobId}`).set(auth())).body as Record<string, unknown>;
  const entry = (jobId: string) => `dly:${jobId}`;
  /** Redis's clock (ms), the one due times are computed by. */
  const redisNowMs = async () => {
    const [seconds, micros] = await redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  };
  const score = async (jobId: string) => {
    const s = await redis.zscore(DELAYED, entry(jobId));
    return s === null ? null : Number(s);
  };
  const pendingEntries = () => redis.lrange(PENDING, 0, -1);
  /** 400 in Relay's error shape whose messages contain every one of `parts`. */
  const expect400 = (res: Response, ...parts: string[]) => {
    expect(res.status).toBe(400);
    const text = JSON.stringify(res.body.message);
    for (const part of parts) expect(text).toContain(part);
  };

  beforeAll(async () => {
    server = await fileRedis();
    redis = server.redis;
    api = await startApi(server.url);
    key = await api.key('dly');
  });
  afterAll(async () => {
    await api?.close();
    await server?.stop();
  });

  it('delay_ms: the entry waits in the delayed set scored Redis now + delay, the record and view say pending with run_at', async () => {
    const before = await redisNowMs();
    const res = await submit({ action: 'debug.echo', params: { n: 1 }, delay_ms: 90_000 });
    const after = await redisNowMs();
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('pending');
    const id = res.body.job_id as string;

    const due = await score(id);
    expect(due).toBeGreaterThanOrEqual(before + 90_000);
    expect(due).toBeLessThanOrEqual(after + 90_000);
    expect(await pendingEntries()).not.toContain(entry(id));

    const runAt = new Date(due!).toISOString();
    const record = await redis.hgetall(RedisKeys.legacyJob(id));
    expect(record).toMatchObject({ status: 'pending', run_at: runAt, attempts: '0', started_at: '' });
    expect(await view(id)).toMatchObject({ job_id: id, status: 'pending', run_at: runAt, started_at: null, attempts: 0 });
    const list = await api.http.get('/ai/jobs?status=pending&limit=100').set(auth());
    expect((list.body.items as Record<string, unknown>[]).find((item) => item.job_id === id)).toMatchObject({ status: 'pending', run_at: runAt });
  });

  it('run_at: scored exactly at the instant it names (any zone), shown in UTC', async () => {
    const at = Math.floor((Date.now() + 2 * 60 * 60 * 1000) / 1000) * 1000 + 250; // two hours ahead, with milliseconds
    const utc = new Date(at).toISOString();
    // The same instant written at +02:00.
    const plusTwo = `${new Date(at + 2 * 60 * 60 * 1000).toISOString().slice(0, -1)}+02:00`;
    const res = await submit({ action: 'debug.echo', run_at: plusTwo });
    expect(res.status).toBe(202);
    const id = res.body.job_id as string;
    expect(await score(id)).toBe(at);
    expect(await pendingEntries()).not.toContain(entry(id));
    expect(await view(id)).toMatchObject({ status: 'pending', run_at: utc });
  });

  it('a run_at in the past (or delay_ms 0) is queued on the pending list at once; a job without a delay shows run_at null', async () => {
    const past = '2020-01-02T03:04:05.678+01:00';
    const res = await submit({ action: 'debug.echo', run_at: past });
    expect(res.status).toBe(202);
    const id = res.body.job_id as string;
    expect(await score(id)).toBeNull();
    expect(await pendingEntries()).toContain(entry(id));
    expect(await view(id)).toMatchObject({ status: 'pending', run_at: '2020-01-02T02:04:05.678Z' });

    const now = (await submit({ action: 'debug.echo', delay_ms: 0 })).body.job_id as string;
    const plain = (await submit({ action: 'debug.echo' })).body.job_id as string;
    for (const jobId of [now, plain]) {
      expect(await score(jobId)).toBeNull();
      expect(await pendingEntries()).toContain(entry(jobId));
      // Not written at all on a job without a due time (a 17th field would cost ~300 B a job).
      expect(await redis.hexists(RedisKeys.legacyJob(jobId), 'run_at')).toBe(0);
      expect((await view(jobId)).run_at).toBeNull();
    }
  });

  it('each plan step has its own delay: due steps in step order on the pending list, the others in the delayed set', async () => {
    const at = Date.now() + DAY_MS;
    const before = await redisNowMs();
    const res = await plan({
      steps: [
        { action: 'debug.echo', params: { step: 0 } },
        { action: 'debug.echo', delay_ms: 5_000 },
        { action: 'debug.echo', run_at: new Date(at).toISOString() },
        { action: 'debug.echo', run_at: '2021-06-01T00:00:00Z' },
        { action: 'debug.echo', delay_ms: 0 },
      ],
    });
    const after = await redisNowMs();
    expect(res.status).toBe(202);
    const ids = res.body.job_ids as string[];

    expect(await score(ids[0])).toBeNull();
    expect(await score(ids[1])).toBeGreaterThanOrEqual(before + 5_000);
    expect(await score(ids[1])).toBeLessThanOrEqual(after + 5_000);
    expect(await score(ids[2])).toBe(at);
    expect(await score(ids[3])).toBeNull();
    expect(await score(ids[4])).toBeNull();
    // LPUSH in, taken from the right: the steps due now, oldest step rightmost.
    const queued = (await pendingEntries()).filter((e) => ids.map(entry).includes(e));
    expect(queued).toEqual([entry(ids[4]), entry(ids[3]), entry(ids[0])]);

    const views = await Promise.all(ids.map(view));
    expect(views.map((v) => v.status)).toEqual(Array(5).fill('pending'));
    expect(views.map((v) => v.run_at)).toEqual([null, new Date((await score(ids[1]))!).toISOString(), new Date(at).toISOString(), '2021-06-01T00:00:00.000Z', null]);
  });

  it('refuses run_at together with delay_ms, on a job and on a step, naming both fields; nothing is written', async () => {
    const [delayed, pending] = [await redis.zcard(DELAYED), await redis.llen(PENDING)];
    expect400(await submit({ action: 'debug.echo', run_at: new Date(Date.now() + 60_000).toISOString(), delay_ms: 1000 }), 'delay_ms', 'run_at');
    expect400(await plan({ steps: [{ action: 'debug.echo' }, { action: 'debug.echo', run_at: '2026-11-29T12:00:00Z', delay_ms: 5 }] }), 'steps.1.delay_ms must not be sent together with run_at');
    expect([await redis.zcard(DELAYED), await redis.llen(PENDING)]).toEqual([delayed, pending]);
  });

  it('refuses a due time beyond JOB_DELAY_MAX_MS (default 30 days) with a 400 naming the field and the setting, and accepts one within it', async () => {
    const [delayed, pending] = [await redis.zcard(DELAYED), await redis.llen(PENDING)];
    expect400(await submit({ action: 'debug.echo', delay_ms: 30 * DAY_MS + 1 }), 'delay_ms must be at most 2592000000', 'JOB_DELAY_MAX_MS');
    expect400(await submit({ action: 'debug.echo', run_at: new Date(Date.now() + 31 * DAY_MS).toISOString() }), 'run_at must be at most', 'JOB_DELAY_MAX_MS');
    expect400(await plan({ steps: [{ action: 'debug.echo' }, { action: 'debug.echo', delay_ms: 31 * DAY_MS }] }), 'steps[1].delay_ms must be at most');
    expect([await redis.zcard(DELAYED), await redis.llen(PENDING)]).toEqual([delayed, pending]);

    expect((await submit({ action: 'debug.echo', delay_ms: 30 * DAY_MS })).status).toBe(202);
    expect((await submit({ action: 'debug.echo', run_at: new Date(Date.now() + 29 * DAY_MS).toISOString() })).status).toBe(202);
  });

  it('the horizon follows JOB_DELAY_MAX_MS', async () => {
    const short = await startApi(server.url, { JOB_DELAY_MAX_MS: '60000' });
    try {
      const shortAuth = { Authorization: `Bearer ${await short.key('dly-short')}` };
      expect400(await short.http.post('/ai/jobs').set(shortAuth).send({ action: 'debug.echo', delay_ms: 60_001 }), 'delay_ms must be at most 60000');
      expect((await short.http.post('/ai/jobs').set(shortAuth).send({ action: 'debug.echo', delay_ms: 60_000 })).status).toBe(202);
    } finally {
      await short.close();
    }
  });

  it.each([
    ['no time zone', '2026-11-29T12:00:00'],
    ['a date only', '2026-11-29'],
    ['a day that does not exist', '2026-02-30T12:00:00Z'],
    ['an hour that does not exist', '2026-11-29T25:00:00Z'],
    ['words', 'tomorrow at noon'],
    ['a number', 1795953600000],
    ['null', null],
  ])('refuses a run_at that is %s with 400 naming run_at', async (_label, runAt) => {
    expect400(await submit({ action: 'debug.echo', run_at: runAt }), 'run_at must be an ISO 8601 date-time with a time zone');
    expect400(await plan({ steps: [{ action: 'debug.echo', run_at: runAt }] }), 'steps.0.run_at must be an ISO 8601 date-time');
  });

  it.each([
    ['negative', -1],
    ['a fraction', 1.5],
    ['a string', '1000'],
    ['null', null],
  ])('refuses a delay_ms that is %s with 400 naming delay_ms', async (_label, delayMs) => {
    expect400(await submit({ action: 'debug.echo', delay_ms: delayMs }), 'delay_ms must be a whole number of milliseconds');
    expect400(await plan({ steps: [{ action: 'debug.echo', delay_ms: delayMs }] }), 'steps.0.delay_ms must be a whole number');
  });

  it('cancelling a delayed job takes its entry out of the delayed set, and leaves other entries there', async () => {
    const keep = (await submit({ action: 'debug.echo', delay_ms: 600_000 })).body.job_id as string;
    const id = (await submit({ action: 'debug.echo', delay_ms: 600_000 })).body.job_id as string;
    expect(await score(id)).not.toBeNull();
    const res = await api.http.post(`/ai/jobs/${id}/cancel`).set(auth());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'cancelled', run_at: expect.any(String) });
    expect(await score(id)).toBeNull();
    expect(await score(keep)).not.toBeNull();
    expect((await view(id)).status).toBe('cancelled');
  });

  it('cancelling a pending job waiting for a retry takes its entry out of the retry set', async () => {
    const id = (await submit({ action: 'debug.echo' })).body.job_id as string;
    // As a failed attempt leaves it: pending, its entry in the retry set (scored by when it is due).
    await redis.lrem(PENDING, 0, entry(id));
    await redis.zadd(RedisKeys.retryQueue, Date.now() + 600_000, entry(id), Date.now() + 600_000, 'dly:other-job');
    expect((await api.http.post(`/ai/jobs/${id}/cancel`).set(auth())).status).toBe(200);
    expect(await redis.zscore(RedisKeys.retryQueue, entry(id))).toBeNull();
    expect(await redis.zscore(RedisKeys.retryQueue, 'dly:other-job')).not.toBeNull();
  });

  it('an idempotent replay of a delayed submit answers the first job and adds no second entry; another delay is a different payload', async () => {
    const body = { action: 'debug.echo', params: { n: 7 }, delay_ms: 120_000, client_request_id: 'dly-replay-1' };
    const first = await submit(body);
    expect(first.status).toBe(202);
    const entries = await redis.zcard(DELAYED);
    const due = await score(first.body.job_id);

    const again = await submit(body);
    expect(again.status).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await redis.zcard(DELAYED)).toBe(entries);
    expect(await score(first.body.job_id)).toBe(due);

    expect((await submit({ ...body, delay_ms: 60_000 })).status).toBe(422);
    expect((await submit({ action: 'debug.echo', params: { n: 7 }, client_request_id: 'dly-replay-1' })).status).toBe(422);
    // run_at compares by the instant it names, not by how it is written.
    const at = Date.now() + 3_600_000;
    const byUtc = await submit({ action: 'debug.echo', run_at: new Date(at).toISOString(), client_request_id: 'dly-replay-2' });
    const byOffset = await submit({ action: 'debug.echo', run_at: `${new Date(at - 5 * 3_600_000).toISOString().slice(0, -1)}-05:00`, client_request_id: 'dly-replay-2' });
    expect(byOffset.status).toBe(200);
    expect(byOffset.body.job_id).toBe(byUtc.body.job_id);
  });

  it('a delayed set of another type refuses delayed submits (nothing written) but not others, nor cancels', async () => {
    const id = (await submit({ action: 'debug.echo', delay_ms: 600_000 })).body.job_id as string;
    const saved = 'dly:saved-delayed-set';
    await redis.rename(DELAYED, saved);
    await redis.set(DELAYED, 'not a zset');
    try {
      const index = await redis.zcard(RedisKeys.workspaceStatusIndex('dly', 'pending'));
      const refused = await submit({ action: 'debug.echo', delay_ms: 1000 });
      expect(refused.status).toBe(500);
      expect(await redis.zcard(RedisKeys.workspaceStatusIndex('dly', 'pending'))).toBe(index);
      expect((await submit({ action: 'debug.echo' })).status).toBe(202);
      expect((await api.http.post(`/ai/jobs/${id}/cancel`).set(auth())).status).toBe(200);
      expect(await redis.get(DELAYED)).toBe('not a zset');
    } finally {
      await redis.rename(saved, DELAYED);
    }
  });

  it('dual-write (phase 1): both copies get the same run_at, and migrate verify finds them matching', async () => {
    const url = `${server.url}/1`;
    const phase1 = await startApi(url, { AI_JOBS_NEW_SCHEMA: 'on' });
    try {
      const dualAuth = { Authorization: `Bearer ${await phase1.key('dly')}` };
      const res = await phase1.http.post('/ai/plans').set(dualAuth).send({ steps: [{ action: 'debug.echo', delay_ms: 60_000 }, { action: 'debug.echo' }] });
      expect(res.status).toBe(202);
      const db1 = redis.duplicate({ db: 1 });
      try {
        const [delayed, plain] = res.body.job_ids as string[];
        for (const id of [delayed, plain]) {
          const [legacy, scoped] = [await db1.hgetall(RedisKeys.legacyJob(id)), await db1.hgetall(RedisKeys.scopedJob('dly', id))];
          expect(scoped).toEqual(legacy);
          expect(Object.keys(scoped).includes('run_at')).toBe(id === delayed);
        }
        expect(await db1.hget(RedisKeys.legacyJob(res.body.job_ids[0]), 'run_at')).not.toBe('');
      } finally {
        db1.disconnect();
      }
      const verify = await runRelay({ REDIS_URL: url, AI_JOBS_NEW_SCHEMA: 'on', READ_PREFERS_NEW: 'on' }, ['migrate', 'verify', '--json']);
      expect(verify.code).toBe(0);
      expect(JSON.parse(verify.out[0])).toMatchObject({ matching: 2, diverged: 0, missingScoped: 0, clean: true });
    } finally {
      await phase1.close();
    }
  });

  it('the typed client passes run_at and delay_ms through submit and plan', async () => {
    await api.app.listen(0, '127.0.0.1');
    const relay = new RelayClient({ baseUrl: `http://127.0.0.1:${((api.app.getHttpServer() as Server).address() as AddressInfo).port}`, apiKey: key });
    const at = new Date(Date.now() + 3_600_000).toISOString();
    const job = await relay.submit({ action: 'debug.echo', run_at: at });
    expect(await score(job.job_id)).toBe(Date.parse(at));
    expect((await relay.get(job.job_id)).run_at).toBe(at);
    const planned = await relay.plan({ steps: [{ action: 'debug.echo', delay_ms: 60_000 }, { action: 'debug.echo' }] });
    expect(await score(planned.job_ids[0])).not.toBeNull();
    expect(await score(planned.job_ids[1])).toBeNull();
  });
});
