import { STATUS_CODES } from 'node:http';
import type { Response } from 'supertest';
import { ApiKeyStore } from '@relay/auth';
import { RedisKeys } from '@relay/redis';
import { countEntriesByWorkspace } from '../apps/api/src/console/queue-entries.js';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { runRelay } from './support/cli-runner.js';
import { expectEventually } from './support/expect-eventually.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * What the console's data routes answer an operator (README "Operator
 * console"), on the real API and a real Redis. Jobs are submitted through
 * the API; the states a worker would give them (running, retrying, dead)
 * and a delayed job's entry are set up in Redis the way the scripts leave them, so each
 * count is known exactly. The browser test (console.e2e-spec.ts) has the
 * same states made by real workers.
 */
const SECRET = 'pw-console-api-SECRET';

function expectError(res: Response, status: number, label: string): void {
  expect({ label, status: res.status }).toEqual({ label, status });
  expect(res.body).toEqual({ statusCode: status, error: STATUS_CODES[status], message: expect.anything(), request_id: res.headers['x-request-id'] });
  expect(JSON.stringify(res.body)).not.toMatch(/ERR|WRONGTYPE|at \w+ \(/);
}

describe('operator console data routes', () => {
  let server: FileRedis;
  let api: ApiHarness;
  let operator: { Authorization: string };
  const keys: Record<string, string> = {};
  const get = (path: string) => api.http.get(`/console/api${path}`).set(operator);

  async function submit(workspace: string, params: Record<string, unknown> = {}): Promise<{ job_id: string; created_at: string }> {
    const res = await api.http.post('/ai/jobs').set({ Authorization: `Bearer ${keys[workspace]}` }).send({ action: 'debug.echo', params });
    expect(res.status).toBe(202);
    return res.body;
  }

  /** Moves a job between status indexes, as the worker's scripts do (the record's status too). */
  async function setStatus(workspace: string, job: { job_id: string; created_at: string }, from: string, to: string): Promise<void> {
    const member = `${job.created_at}/${job.job_id}`;
    await server.redis.zrem(RedisKeys.workspaceStatusIndex(workspace, from), member);
    await server.redis.zadd(RedisKeys.workspaceStatusIndex(workspace, to), 0, member);
    await server.redis.hset(RedisKeys.legacyJob(job.job_id), 'status', to);
  }

  beforeAll(async () => {
    server = await fileRedis();
    api = await startApi(server.url, { RATE_LIMIT_MAX: '0' });
  });
  beforeEach(async () => {
    await server.redis.flushdb();
    operator = { Authorization: `Bearer ${(await api.app.get(ApiKeyStore).createOperator()).key}` };
    for (const ws of ['alpha', 'beta']) keys[ws] = await api.key(ws);
  });
  afterAll(async () => {
    await api?.close();
    await server?.stop();
  });

  it('overview: pending, running, delayed, retrying and dead per workspace, a workspace known only by its dead letters, exact totals; reused for 2 s, then recomputed', async () => {
    const alpha = [await submit('alpha'), await submit('alpha'), await submit('alpha'), await submit('alpha')];
    const beta = await submit('beta');
    // alpha's first job waits out a retry backoff (it reads pending, in the retry set); beta's runs.
    await server.redis.zadd(RedisKeys.retryQueue, Date.now() + 3_600_000, `alpha:${alpha[0].job_id}`);
    // alpha's last job is not due for an hour: pending, its entry in the delayed set rather than the pending list.
    await server.redis.lrem(RedisKeys.pendingQueue, 1, `alpha:${alpha[3].job_id}`);
    await server.redis.zadd(RedisKeys.delayedQueue, Date.now() + 3_600_000, `alpha:${alpha[3].job_id}`);
    await setStatus('beta', beta, 'pending', 'running');
    await server.redis.lpush(RedisKeys.deadLetters, 'gamma:expired-1', 'no-colon-entry');

    const first = await get('/overview');
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      workspaces: [
        { workspace_id: 'alpha', pending: 2, running: 0, delayed: 1, retrying: 1, dead: 0 },
        { workspace_id: 'beta', pending: 0, running: 1, delayed: 0, retrying: 0, dead: 0 },
        { workspace_id: 'gamma', pending: 0, running: 0, delayed: 0, retrying: 0, dead: 1 },
      ],
      // The queue's own structures: 4 entries in the pending list, no lease, one delayed, one retry, two dead-letter entries.
      totals: { pending: 4, running: 0, delayed: 1, retrying: 1, dead: 2 },
      workspaces_truncated: false,
      counts_capped: false,
      generated_at: expect.any(String),
    });

    await submit('alpha');
    expect((await get('/overview')).body.generated_at).toBe(first.body.generated_at);
    await expectEventually(async () => expect((await get('/overview')).body.workspaces[0]).toEqual({ workspace_id: 'alpha', pending: 3, running: 0, delayed: 1, retrying: 1, dead: 0 }), 5000, 200);
  });

  it('counts the retry set and dead-letter list per workspace in chunks, up to a bound beyond which it says the counts are capped', async () => {
    const entries = Array.from({ length: 2500 }, (_, i) => `${i % 2 ? 'odd' : 'even'}:job-${i}`);
    await server.redis.rpush(RedisKeys.deadLetters, ...entries);
    await server.redis.zadd(RedisKeys.retryQueue, ...entries.flatMap((e, i) => [i, e]));
    for (const kind of ['list', 'zset'] as const) {
      const key = kind === 'list' ? RedisKeys.deadLetters : RedisKeys.retryQueue;
      const all = await countEntriesByWorkspace(server.redis, key, kind);
      expect({ kind, ...all, byWorkspace: Object.fromEntries(all.byWorkspace) }).toEqual({ kind, byWorkspace: { even: 1250, odd: 1250 }, capped: false });
      const capped = await countEntriesByWorkspace(server.redis, key, kind, 2000);
      expect({ kind, ...capped, byWorkspace: Object.fromEntries(capped.byWorkspace) }).toEqual({ kind, byWorkspace: { even: 1000, odd: 1000 }, capped: true });
      const exact = await countEntriesByWorkspace(server.redis, key, kind, 2500);
      expect({ kind, capped: exact.capped }).toEqual({ kind, capped: false });
    }
  });

  it("a workspace's jobs: status filter, cursor paging, no params in items; one job with params redacted; ids checked (400), other workspaces' jobs 404", async () => {
    const jobs = [await submit('alpha', { password: SECRET, n: 1 }), await submit('alpha'), await submit('alpha')];
    await setStatus('alpha', jobs[1], 'pending', 'running');

    const page1 = await get('/workspaces/alpha/jobs?limit=1&status=pending');
    expect(page1.status).toBe(200);
    expect(page1.body.items.map((j: { job_id: string }) => j.job_id)).toEqual([jobs[2].job_id]);
    expect(page1.body.items[0]).not.toHaveProperty('params');
    const page2 = await get(`/workspaces/alpha/jobs?limit=1&status=pending&cursor=${encodeURIComponent(page1.body.next_cursor)}`);
    expect(page2.body.items.map((j: { job_id: string }) => j.job_id)).toEqual([jobs[0].job_id]);
    expect(page2.body.next_cursor).toBeNull();
    expect((await get('/workspaces/alpha/jobs?status=running')).body.items.map((j: { job_id: string }) => j.job_id)).toEqual([jobs[1].job_id]);
    expect((await get('/workspaces/beta/jobs')).body).toEqual({ items: [], next_cursor: null });

    const one = await get(`/workspaces/alpha/jobs/${jobs[0].job_id}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ job_id: jobs[0].job_id, workspace_id: 'alpha', params: { password: '[REDACTED]', n: 1 } });
    expect(JSON.stringify(one.body)).not.toContain(SECRET);

    expectError(await get(`/workspaces/beta/jobs/${jobs[0].job_id}`), 404, "alpha's job under beta");
    expectError(await get('/workspaces/alpha/jobs/no-such-job'), 404, 'unknown job');
    for (const path of ['/workspaces/Bad!/jobs', '/workspaces/_operator/jobs', '/workspaces/alpha/jobs?limit=0', '/workspaces/alpha/jobs?status=dead', '/workspaces/alpha/jobs?cursor=not-a-cursor', '/workspaces/alpha/jobs/bad%20id']) {
      expectError(await get(path), 400, path);
    }
    // A workspace_id claim in the query is refused on the console as on tenant routes.
    expectError(await get('/workspaces/alpha/jobs?workspace_id=alpha'), 403, 'workspace_id query');
  });

  it('dead letters: newest first with their jobs and the total; requeue gives the job back to the queue (200), then 404; an expired job is 410 and its entry dropped', async () => {
    const job = await submit('alpha', { token: SECRET });
    // What the worker leaves after the last attempt: failed, out of the pending list, in the dead-letter list.
    await setStatus('alpha', job, 'pending', 'failed');
    await server.redis.hset(RedisKeys.legacyJob(job.job_id), 'error', 'planned failure', 'attempts', '3');
    await server.redis.lrem(RedisKeys.pendingQueue, 0, `alpha:${job.job_id}`);
    await server.redis.lpush(RedisKeys.deadLetters, 'beta:expired-1', `alpha:${job.job_id}`);

    const dead = await get('/dead');
    expect(dead.status).toBe(200);
    expect(dead.body.total).toBe(2);
    expect(dead.body.items).toEqual([
      { workspace_id: 'alpha', job_id: job.job_id, job: expect.objectContaining({ job_id: job.job_id, status: 'failed', error: 'planned failure', attempts: 3 }) },
      { workspace_id: 'beta', job_id: 'expired-1', job: null },
    ]);
    expect(dead.body.items[0].job).not.toHaveProperty('params');
    expect((await get('/dead?limit=1')).body.items.length).toBe(1);
    for (const limit of ['0', '101', 'x']) expectError(await get(`/dead?limit=${limit}`), 400, `limit=${limit}`);

    const requeue = (ws: string, id: string) => api.http.post(`/console/api/workspaces/${ws}/dead/${id}/requeue`).set(operator);
    const done = await requeue('alpha', job.job_id);
    expect(done.status).toBe(200);
    expect(done.body).toEqual({ workspace_id: 'alpha', job_id: job.job_id, outcome: 'requeued' });
    expect(await server.redis.hget(RedisKeys.legacyJob(job.job_id), 'status')).toBe('pending');
    expect(await server.redis.lrange(RedisKeys.pendingQueue, 0, -1)).toEqual([`alpha:${job.job_id}`]);
    expect(api.logs.lines.some((l) => l.includes('dead_letter_requeue') && l.includes(job.job_id) && l.includes('"outcome":"requeued"'))).toBe(true);
    expectError(await requeue('alpha', job.job_id), 404, 'requeued twice');
    expectError(await requeue('beta', 'expired-1'), 410, 'expired record');
    expect(await server.redis.lrange(RedisKeys.deadLetters, 0, -1)).toEqual([]);
    expectError(await requeue('Bad!', 'x'), 400, 'bad workspace');
    expectError(await requeue('alpha', 'bad%20id'), 400, 'bad id');
  });

  it('migration: the phase and counts of relay migrate status, counted once per 15 s', async () => {
    await submit('alpha');
    await submit('beta');
    const first = await get('/migration');
    expect(first.status).toBe(200);
    const cli = JSON.parse((await runRelay({ REDIS_URL: server.url }, ['migrate', 'status', '--json'])).out[0]);
    expect(first.body).toEqual({
      phase: cli.phase,
      writes: cli.strategy.writes,
      canary_pct: cli.strategy.canaryPct,
      reads: cli.strategy.reads,
      legacy_records: 2,
      scoped_records: cli.scopedRecords,
      legacy_only: cli.legacyOnly,
      scoped_only: cli.scopedOnly,
      backfill_checkpoint: null,
      computed_at: expect.any(String),
    });
    expect(cli.legacyRecords).toBe(2);
    await submit('alpha');
    // The same count is served within the interval, however many ask.
    expect((await get('/migration')).body).toEqual(first.body);
  });
});
