import type { INestApplication } from '@nestjs/common';
import { RedisKeys } from '@relay/redis';
import { createWorkerApp } from '../apps/worker/src/worker.app.js';
import { BUILT_INS, CapturingLogger, startApi, type ApiHarness } from './support/api-harness.js';
import { FIXED_EVENT_FIELDS, history, idBefore, jobEvents, workspaceEvents } from './support/event-stream.js';
import { expectEventually } from './support/expect-eventually.js';
import { fileRedis, type FileRedis } from './support/redis.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/**
 * Issue 15, point 1, through the API and a real worker: every lifecycle
 * change of a job is appended to its workspace's stream (ai:events:{ws}) by
 * the script that makes it, with the contract's fields in order, never
 * params, a succeeded result redacted like params; each workspace sees only
 * its own events; the stream stays within EVENTS_MAX_LEN. (Requeues, age
 * trimming and broken keys: event-stream-scripts.e2e-spec.ts.)
 */
describe('job events in the workspace stream', () => {
  let r: FileRedis;
  let api: ApiHarness;
  let worker: INestApplication;
  let key: string;

  beforeAll(async () => {
    r = await fileRedis();
    api = await startApi(r.url);
    key = await api.key('acme');
    // debug.sleep is allowed by the API but not by the worker: it fails when it runs, without retries.
    worker = await createWorkerApp(
      { REDIS_URL: r.url, ACTION_ALLOWLIST: 'debug.echo,debug.fail', JOB_MAX_ATTEMPTS: '2', JOB_RETRY_BASE_MS: '10', JOB_RETRY_MAX_MS: '20', EVENT_RESULT_MAX_BYTES: '200' },
      new CapturingLogger(),
    );
    await worker.init();
  });
  afterAll(async () => {
    await worker?.close();
    await api?.close();
    await r?.stop();
  });

  async function submit(body: Record<string, unknown>, apiKey = key, harness = api): Promise<string> {
    const res = await harness.http.post('/ai/jobs').set({ Authorization: `Bearer ${apiKey}` }).send(body);
    expect(res.status).toBe(202);
    return res.body.job_id;
  }
  const record = (id: string) => r.redis.hgetall(RedisKeys.legacyJob(id));
  /** The job's events once its last one is of `lastType`. */
  const eventsUntil = (ws: string, id: string, lastType: string) =>
    expectEventually(async () => {
      const events = await jobEvents(r.redis, ws, id);
      expect(events.at(-1)?.f.type).toBe(lastType);
      return events;
    }, 10_000);

  it('created, started, succeeded: in order, the contract fields first and in order, at = the record times, the stored result when it has no secret', async () => {
    const id = await submit({ action: 'debug.echo', params: { n: 1 } });
    const events = await eventsUntil('acme', id, 'succeeded');
    expect(history(events)).toEqual(['created:pending:0', 'started:running:1', 'succeeded:succeeded:1']);
    for (const e of events) {
      expect(e.names.slice(0, 6)).toEqual(FIXED_EVENT_FIELDS);
      expect(e.f).toMatchObject({ job_id: id, action: 'debug.echo' });
      expect(e.f.at).toMatch(ISO);
    }
    expect(events.map((e) => e.names.slice(6))).toEqual([[], [], ['result']]);
    expect(idBefore(events[0].id, events[1].id) && idBefore(events[1].id, events[2].id)).toBe(true);
    const rec = await record(id);
    expect(events.map((e) => e.f.at)).toEqual([rec.created_at, rec.started_at, rec.finished_at]);
    expect(events[2].f.result).toBe(rec.result);
    expect(JSON.parse(events[2].f.result)).toEqual({ n: 1 });
  });

  it('a succeeded result is redacted with the params rules; params never appear in any event', async () => {
    const params = { password: 'hunter2-secret', nested: { token: 'tok-very-secret' }, note: 'visible' };
    const id = await submit({ action: 'debug.echo', params });
    const events = await eventsUntil('acme', id, 'succeeded');
    // debug.echo returns its params: the stored result holds them (GET redacts it), the event does not.
    expect(JSON.parse((await record(id)).result)).toEqual(params);
    expect(JSON.parse(events.at(-1)!.f.result)).toEqual({ password: '[REDACTED]', nested: { token: '[REDACTED]' }, note: 'visible' });
    const everything = JSON.stringify(await r.redis.xrange(RedisKeys.workspaceEvents('acme'), '-', '+'));
    expect(everything).not.toContain('hunter2-secret');
    expect(everything).not.toContain('tok-very-secret');
    expect((await workspaceEvents(r.redis, 'acme')).filter((e) => 'params' in e.f)).toEqual([]);
  });

  it('a result over EVENT_RESULT_MAX_BYTES is left out of its event (result_omitted), redacted or not; the job keeps it', async () => {
    const big = await submit({ action: 'debug.echo', params: { text: 'x'.repeat(300) } });
    const bigSecret = await submit({ action: 'debug.echo', params: { text: 'y'.repeat(300), token: 'tok-big-secret' } });
    const justUnder = await submit({ action: 'debug.echo', params: { text: 'z'.repeat(150) } });
    for (const id of [big, bigSecret]) {
      const last = (await eventsUntil('acme', id, 'succeeded')).at(-1)!;
      expect(last.names.slice(6)).toEqual(['result_omitted']);
      expect(last.f.result_omitted).toBe('1');
      expect(JSON.parse((await record(id)).result).text).toHaveLength(300);
    }
    const under = (await eventsUntil('acme', justUnder, 'succeeded')).at(-1)!;
    expect(JSON.parse(under.f.result)).toEqual({ text: 'z'.repeat(150) });
    expect(JSON.stringify(await r.redis.xrange(RedisKeys.workspaceEvents('acme'), '-', '+'))).not.toContain('tok-big-secret');
  });

  it('a retried job: retrying on attempt 1 (error, retry_at, reason), then started and succeeded on attempt 2', async () => {
    const id = await submit({ action: 'debug.fail', params: { times: 1 } });
    const events = await eventsUntil('acme', id, 'succeeded');
    expect(history(events)).toEqual(['created:pending:0', 'started:running:1', 'retrying:pending:1', 'started:running:2', 'succeeded:succeeded:2']);
    const retrying = events[2];
    expect(retrying.names).toEqual([...FIXED_EVENT_FIELDS, 'error', 'retry_at', 'reason']);
    expect(retrying.f).toMatchObject({ error: 'debug.fail: planned failure on attempt 1', reason: 'attempt_failed' });
    expect(retrying.f.retry_at).toMatch(ISO);
    expect(Date.parse(retrying.f.retry_at)).toBeGreaterThanOrEqual(Date.parse(retrying.f.at));
    expect(Date.parse(events[3].f.at)).toBeGreaterThanOrEqual(Date.parse(retrying.f.retry_at));
  });

  it('attempts spent: dead_lettered (status failed, the error) ends the job; an error that is not retried ends it as failed', async () => {
    const dies = await submit({ action: 'debug.fail', params: {} });
    const events = await eventsUntil('acme', dies, 'dead_lettered');
    expect(history(events)).toEqual(['created:pending:0', 'started:running:1', 'retrying:pending:1', 'started:running:2', 'dead_lettered:failed:2']);
    expect(events.at(-1)!.names).toEqual([...FIXED_EVENT_FIELDS, 'error']);
    expect(events.at(-1)!.f.error).toBe((await record(dies)).error);
    expect(await r.redis.lrange(RedisKeys.deadLetters, 0, -1)).toContain(`acme:${dies}`);

    const refused = await submit({ action: 'debug.sleep', params: { ms: 1 } });
    const refusedEvents = await eventsUntil('acme', refused, 'failed');
    expect(history(refusedEvents)).toEqual(['created:pending:0', 'started:running:1', 'failed:failed:1']);
    expect(refusedEvents.at(-1)!.f.error).toMatch(/not permitted/);
  });

  it('a delayed job: created with run_at; cancelled (reason requested) while it waits, and nothing after', async () => {
    const id = await submit({ action: 'debug.echo', params: {}, delay_ms: 60_000 });
    const [created] = await jobEvents(r.redis, 'acme', id);
    expect(created.names).toEqual([...FIXED_EVENT_FIELDS, 'run_at']);
    expect(created.f.run_at).toBe((await record(id)).run_at);
    expect(Date.parse(created.f.run_at) - Date.parse(created.f.at)).toBe(60_000);

    const res = await api.http.post(`/ai/jobs/${id}/cancel`).set({ Authorization: `Bearer ${key}` });
    expect(res.status).toBe(200);
    const events = await jobEvents(r.redis, 'acme', id);
    expect(history(events)).toEqual(['created:pending:0', 'cancelled:cancelled:0']);
    expect(events[1].names).toEqual([...FIXED_EVENT_FIELDS, 'reason']);
    expect(events[1].f).toMatchObject({ reason: 'requested', at: (await record(id)).finished_at });
  });

  it("a plan's steps: one created event per step, in step order", async () => {
    const res = await api.http
      .post('/ai/plans')
      .set({ Authorization: `Bearer ${key}` })
      .send({ steps: [{ action: 'debug.echo', params: { s: 0 } }, { action: 'debug.fail', params: { times: 0 } }, { action: 'debug.echo', params: { s: 2 }, delay_ms: 60_000 }] });
    expect(res.status).toBe(202);
    const ids: string[] = res.body.job_ids;
    const created = (await workspaceEvents(r.redis, 'acme')).filter((e) => ids.includes(e.f.job_id) && e.f.type === 'created');
    expect(created.map((e) => [e.f.job_id, e.f.action, e.f.run_at !== undefined])).toEqual([
      [ids[0], 'debug.echo', false],
      [ids[1], 'debug.fail', false],
      [ids[2], 'debug.echo', true],
    ]);
  });

  it("workspace A's events are never in workspace B's stream", async () => {
    const keyB = await api.key('bravo');
    const a = await submit({ action: 'debug.echo', params: { who: 'a' } });
    const b = await submit({ action: 'debug.echo', params: { who: 'b' } }, keyB);
    await eventsUntil('acme', a, 'succeeded');
    await eventsUntil('bravo', b, 'succeeded');
    const inB = await workspaceEvents(r.redis, 'bravo');
    expect(new Set(inB.map((e) => e.f.job_id))).toEqual(new Set([b]));
    expect((await workspaceEvents(r.redis, 'acme')).some((e) => e.f.job_id === b)).toBe(false);
  });

  it('the stream stays within EVENTS_MAX_LEN (approximately: at most one stream node more) and keeps the newest events', async () => {
    const capped = await startApi(r.url, { EVENTS_MAX_LEN: '50' });
    try {
      const keyC = await capped.key('capped');
      let last = '';
      for (let i = 0; i < 5; i++) {
        const res = await capped.http
          .post('/ai/plans')
          .set({ Authorization: `Bearer ${keyC}` })
          .send({ steps: Array.from({ length: 100 }, (_, n) => ({ action: 'debug.echo', params: { n }, delay_ms: 600_000 })) });
        expect(res.status).toBe(202);
        last = res.body.job_ids.at(-1);
        const length = await r.redis.xlen(RedisKeys.workspaceEvents('capped'));
        expect(length).toBeGreaterThanOrEqual(50);
        expect(length).toBeLessThan(150);
      }
      const events = await workspaceEvents(r.redis, 'capped');
      expect(events.at(-1)!.f.job_id).toBe(last);
    } finally {
      await capped.close();
    }
  });
});
