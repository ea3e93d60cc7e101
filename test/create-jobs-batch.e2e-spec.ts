import { QueueScripts, type CreateScriptReply, type CreateScriptRequest } from '@relay/queue';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * createJobs with several requests in one call (CreateBatcher's group
 * commit). The script writes each created request's records in its turn but
 * gathers the pending list, delayed set and status index entries of the whole
 * call into one command per key at the end: the state must be exactly what
 * one call per request leaves, and a later request of the call must still see
 * what an earlier one wrote (its idempotency key, its jobs under the quota).
 */
describe('createJobs: requests sharing one call (real Redis)', () => {
  let server: FileRedis;
  let scripts: QueueScripts;
  const redis = () => server.redis;

  beforeAll(async () => {
    server = await fileRedis();
    scripts = new QueueScripts(server.redis);
  });
  beforeEach(async () => {
    await redis().flushdb();
  });
  afterAll(async () => {
    await server?.stop();
  });

  type CreateScriptJob = CreateScriptRequest['jobs'][number];
  const job = (jobId: string, delay?: CreateScriptJob['delay']): CreateScriptJob => ({
    copies: 'L',
    jobId,
    actorId: 'agent-1',
    provider: 'debug',
    name: 'echo',
    paramsJson: `{"id":"${jobId}"}`,
    ...(delay ? { delay } : {}),
  });
  const request = (workspaceId: string, jobs: CreateScriptJob[], extra: Partial<CreateScriptRequest> = {}): CreateScriptRequest => ({ workspaceId, requestHash: '', jobs, ...extra });
  const createdAtOf = (reply: CreateScriptReply) => {
    expect(reply).toEqual({ outcome: 'created', createdAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/) });
    return (reply as { createdAt: string }).createdAt;
  };

  /** Calls of each command since the last CONFIG RESETSTAT (INFO commandstats). */
  async function commandCalls(): Promise<Record<string, number>> {
    const calls: Record<string, number> = {};
    for (const m of (await redis().info('commandstats')).matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)) calls[m[1]] = Number(m[2]);
    return calls;
  }

  /** The pending list, the delayed set (with scores) and every status index of the workspaces named. */
  async function queueState(workspaces: string[]) {
    const indexes: Record<string, string[]> = {};
    for (const ws of workspaces) indexes[ws] = await redis().zrange(`ai:index:${ws}:status:pending`, '0', '-1');
    return {
      pending: await redis().lrange('ai:queue:pending', 0, -1),
      delayed: await redis().zrange('ai:queue:delayed', '0', '-1', 'WITHSCORES'),
      indexes,
    };
  }

  it('several requests in one call leave the pending list in the order one LPUSH per request gives, with one LPUSH and one ZADD per index', async () => {
    const requests = [
      request('acme', [job('a1'), job('a2')]),
      request('beta', [job('b1')]),
      request('acme', [job('a3'), job('a4'), job('a5')]),
      request('beta', [job('b2'), job('b3')]),
    ];
    // Something already queued: the call's entries go on top of it, as LPUSHes do.
    await redis().lpush('ai:queue:pending', 'zeta:older');
    await redis().config('RESETSTAT');
    const replies = await scripts.createJobs(requests);
    const calls = await commandCalls();
    const now = createdAtOf(replies[0]);
    expect(replies.map(createdAtOf)).toEqual([now, now, now, now]);

    const order = ['a1', 'a2', 'b1', 'a3', 'a4', 'a5', 'b2', 'b3'];
    const entries = order.map((id) => `${id.startsWith('a') ? 'acme' : 'beta'}:${id}`);
    expect(await redis().lrange('ai:queue:pending', 0, -1)).toEqual([...entries].reverse().concat('zeta:older'));
    expect(await redis().zrange('ai:index:acme:status:pending', '0', '-1')).toEqual(['a1', 'a2', 'a3', 'a4', 'a5'].map((id) => `${now}/${id}`));
    expect(await redis().zrange('ai:index:beta:status:pending', '0', '-1')).toEqual(['b1', 'b2', 'b3'].map((id) => `${now}/${id}`));
    // Per call: one LPUSH, one ZADD per status index (two workspaces), one EXISTS; a record and an event per job.
    expect(calls).toMatchObject({ lpush: 1, zadd: 2, exists: 1, hset: 8, xadd: 8 });
    expect(calls.zadd).toBe(2);

    // The same requests one call each (new ids, same order) leave the same list order.
    const oneByOne: string[] = [];
    await redis().del('ai:queue:pending');
    for (const r of requests) {
      const renamed = { ...r, jobs: r.jobs.map((j) => job(`${j.jobId}-solo`)) };
      createdAtOf((await scripts.createJobs([renamed]))[0]);
      oneByOne.push(...renamed.jobs.map((j) => `${r.workspaceId}:${j.jobId}`));
    }
    expect(await redis().lrange('ai:queue:pending', 0, -1)).toEqual(oneByOne.reverse());
    expect(oneByOne.map((e) => e.replace('-solo', ''))).toEqual([...entries].reverse());
  });

  it('mixes delayed and immediate jobs across the requests of one call: each entry where its own call would put it, a malformed delay refusing only its request', async () => {
    const pastMs = Date.UTC(2020, 0, 1);
    const futureMs = Date.UTC(2099, 0, 1);
    const replies = await scripts.createJobs([
      request('acme', [job('i1')]),
      request('acme', [job('d1', { afterMs: 60_000 })]),
      request('acme', [job('bad1'), job('bad2', { afterMs: Number.NaN })]),
      request('beta', [job('m1'), job('m2', { atMs: futureMs }), job('m3', { atMs: pastMs }), job('m4', { afterMs: 0 })]),
      request('acme', [job('i2')]),
    ]);
    const now = createdAtOf(replies[0]);
    const nowMs = Date.parse(now);
    expect(replies).toEqual([
      { outcome: 'created', createdAt: now },
      { outcome: 'created', createdAt: now },
      { outcome: 'refused', reason: 'job delay is malformed' },
      { outcome: 'created', createdAt: now },
      { outcome: 'created', createdAt: now },
    ]);

    expect(await queueState(['acme', 'beta'])).toEqual({
      // Due now or earlier: queued at once, in per-request LPUSH order.
      pending: ['acme:i2', 'beta:m4', 'beta:m3', 'beta:m1', 'acme:i1'],
      delayed: ['acme:d1', String(nowMs + 60_000), 'beta:m2', String(futureMs)],
      // (an index's members share their score: they sort by text)
      indexes: { acme: ['d1', 'i1', 'i2'].map((id) => `${now}/${id}`), beta: ['m1', 'm2', 'm3', 'm4'].map((id) => `${now}/${id}`) },
    });
    expect(await redis().exists('ai:jobs:bad1', 'ai:jobs:bad2')).toBe(0);
    const runAt = async (id: string) => redis().hget(`ai:jobs:${id}`, 'run_at');
    expect(await runAt('d1')).toBe(new Date(nowMs + 60_000).toISOString());
    expect(await runAt('m2')).toBe(new Date(futureMs).toISOString());
    expect(await runAt('m3')).toBe(new Date(pastMs).toISOString()); // what was asked, though queued at once
    for (const id of ['i1', 'i2', 'm1', 'm4']) expect(await runAt(id)).toBeNull();
    expect(await redis().hgetall('ai:jobs:m2')).toMatchObject({ job_id: 'm2', workspace_id: 'beta', status: 'pending', params: '{"id":"m2"}', created_at: now, request_hash: '' });

    // One created event per job, in request and job order, with run_at where the record has one.
    const events = async (ws: string) =>
      (await redis().xrange(`ai:events:${ws}`, '-', '+')).map(([, f]) => {
        const fields = Object.fromEntries(f.flatMap((v, i) => (i % 2 === 0 ? [[v, f[i + 1]]] : [])));
        return `${fields.type}:${fields.job_id}:${fields.run_at ?? '-'}`;
      });
    expect(await events('acme')).toEqual(['created:i1:-', `created:d1:${new Date(nowMs + 60_000).toISOString()}`, 'created:i2:-']);
    expect(await events('beta')).toEqual(['created:m1:-', `created:m2:${new Date(futureMs).toISOString()}`, `created:m3:${new Date(pastMs).toISOString()}`, 'created:m4:-']);
  });

  it("counts the jobs an earlier request of the same call adds to the workspace against a later request's quota", async () => {
    await redis().zadd('ai:index:acme:status:succeeded', 0, 'old/done');
    const replies = await scripts.createJobs([
      request('acme', [job('q1'), job('q2')], { maxStoredJobs: 4 }),
      request('beta', [job('other')], { maxStoredJobs: 1 }),
      request('acme', [job('q3'), job('q4')], { maxStoredJobs: 4 }),
      request('acme', [job('q5')], { maxStoredJobs: 4 }),
    ]);
    const now = createdAtOf(replies[0]);
    expect(replies).toEqual([
      { outcome: 'created', createdAt: now },
      { outcome: 'created', createdAt: now },
      { outcome: 'quota', stored: 3, quota: 4 },
      { outcome: 'created', createdAt: now },
    ]);
    expect(await redis().zrange('ai:index:acme:status:pending', '0', '-1')).toEqual(['q1', 'q2', 'q5'].map((id) => `${now}/${id}`));
    expect(await redis().exists('ai:jobs:q3', 'ai:jobs:q4')).toBe(0);
  });

  it("answers a request repeating an earlier request's client_request_id in the same call as a replay (or a mismatch), creating nothing", async () => {
    const idem = (ids: string[], requestHash: string) => request('acme', ids.map((id) => job(id)), { clientRequestId: 'same-key', requestHash });
    const replies = await scripts.createJobs([idem(['first'], 'hash-1'), idem(['second'], 'hash-1'), idem(['third'], 'hash-2')]);
    const now = createdAtOf(replies[0]);
    expect(replies.slice(1)).toEqual([{ outcome: 'replayed', firstJobId: 'first', status: 'pending', createdAt: now }, { outcome: 'mismatch' }]);
    expect(await redis().get('ai:idempotency:acme:same-key')).toBe('first');
    expect(await redis().lrange('ai:queue:pending', 0, -1)).toEqual(['acme:first']);
    expect(await redis().zrange('ai:index:acme:status:pending', '0', '-1')).toEqual([`${now}/first`]);
    expect(await redis().exists('ai:jobs:second', 'ai:jobs:third')).toBe(0);
  });
});
