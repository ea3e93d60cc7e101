import { Redis } from 'ioredis';
import { QueueScripts, RedisJobStore, StorageRefusedError, selectStorageStrategy, type CreateScriptRequest } from '@relay/queue';
import { RelayMetrics } from '@relay/telemetry';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * SPEC section 3, atomic writes: a submit writes its job record(s), index
 * entries, queue entry and idempotency key all or nothing; a failure leaves
 * nothing behind and a retry of the same request succeeds. Section 4: a
 * server-side failure never shows a client a Redis error text or a stack.
 *
 * Failures are forced with a key of the wrong type in the way of one of the
 * writes (a state no code path of Relay produces: it stands for corruption).
 */
describe('atomic submission: all or nothing (real Redis)', () => {
  let api: ApiHarness;
  let redis: Redis;
  let server: FileRedis;
  let key: string;
  const auth = () => ({ Authorization: `Bearer ${key}` });

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

  /**
   * Every key of the database with its type and serialized value, except the
   * ones a request legitimately touches whatever happens (rate-limit counters)
   * and API key records: "nothing was written" means this does not change.
   */
  async function snapshot(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const k of await scanKeys('*')) {
      // Bookkeeping of the API's own (rate limits, keys, the predecessor sweep's lock and marker, written every interval).
      if (k.startsWith('ai:ratelimit:') || k.startsWith('ai:apikey') || k.startsWith('ai:migration:legacy-ind')) continue;
      const dump = await redis.dumpBuffer(k);
      out[k] = `${await redis.type(k)}:${dump ? dump.toString('hex') : 'gone'}`;
    }
    return out;
  }

  /** A server-side failure: 5xx, Relay's error shape, and nothing from Redis or a stack in it. */
  function expectSafeServerError(res: { status: number; body: unknown; text: string }): void {
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(res.status).not.toBe(503); // Redis answered; this is not "unavailable".
    expect(res.body).toEqual({ statusCode: res.status, error: expect.any(String), message: expect.anything(), request_id: expect.any(String) });
    expect(res.text).not.toMatch(/WRONGTYPE|ReplyError|\bERR |NOSCRIPT/);
    expect(res.text).not.toMatch(/redis|lua|script|wrong kind of value|holds another type|\bat \S+ \(|\.ts:\d+|\.js:\d+|node_modules/i);
    expect(res.text).not.toMatch(/ai:(index|queue|idempotency|jobs?):/);
  }

  /** The job-related state is empty, whatever obstacle is in place. */
  async function expectNoJobWritten(except = ''): Promise<void> {
    expect(await scanKeys('ai:jobs:*')).toEqual([]);
    expect(await scanKeys('ai:job:*')).toEqual([]);
    expect((await scanKeys('ai:idempotency:*')).filter((k) => k !== except)).toEqual([]);
  }

  beforeAll(async () => {
    server = await fileRedis();
    redis = server.redis;
    api = await startApi(server.url);
  });
  beforeEach(async () => {
    await redis.flushdb();
    key = await api.key('acme', ['actions:execute', 'actions:preview'], 'agent-1');
  });
  afterAll(async () => {
    await api?.close();
    await server?.stop();
  });

  /** Obstacles: each one a key of the wrong type (replacing whatever was there) on a key every submit of workspace acme writes. */
  const obstacles: { name: string; key: string; place: (r: Redis) => Promise<unknown> }[] = [
    { name: 'the queue is a string', key: 'ai:queue:pending', place: (r) => r.multi().del('ai:queue:pending').set('ai:queue:pending', 'not-a-list').exec() },
    { name: 'the pending status index is a hash', key: 'ai:index:acme:status:pending', place: (r) => r.multi().del('ai:index:acme:status:pending').hset('ai:index:acme:status:pending', 'f', 'v').exec() },
    { name: 'the idempotency key is a list', key: 'ai:idempotency:acme:atomic-1', place: (r) => r.multi().del('ai:idempotency:acme:atomic-1').rpush('ai:idempotency:acme:atomic-1', 'x').exec() },
  ];

  describe.each(obstacles)('single job, when $name', ({ key: obstacleKey, place }) => {
    it('fails with a safe 5xx, writes nothing, and the same request succeeds (202, not a replay) once the obstacle is gone', async () => {
      // Some state already in place, so "unchanged" is not just "empty".
      const earlier = await api.http.post('/ai/jobs').set(auth()).send({ action: 'debug.echo', params: { earlier: true } });
      expect(earlier.status).toBe(202);
      await place(redis);
      const queueBefore = await redis.type('ai:queue:pending') === 'list' ? await redis.lrange('ai:queue:pending', 0, -1) : null;
      const indexBefore = await redis.type('ai:index:acme:status:pending') === 'zset' ? await redis.zrange('ai:index:acme:status:pending', '0', '-1') : null;
      const before = await snapshot();
      const jobsBefore = await scanKeys('ai:jobs:*');
      const idemBefore = await scanKeys('ai:idempotency:*');

      const body = { action: 'debug.echo', params: { text: 'param-value-never-logged' }, client_request_id: 'atomic-1' };
      const failed = await api.http.post('/ai/jobs').set(auth()).send(body);
      expectSafeServerError(failed);

      expect(await snapshot()).toEqual(before);
      expect(await scanKeys('ai:jobs:*')).toEqual(jobsBefore);
      expect(await scanKeys('ai:idempotency:*')).toEqual(idemBefore);
      if (queueBefore) expect(await redis.lrange('ai:queue:pending', 0, -1)).toEqual(queueBefore);
      if (indexBefore) expect(await redis.zrange('ai:index:acme:status:pending', '0', '-1')).toEqual(indexBefore);
      // The failure is logged server-side (with the request id), never silent.
      expect(api.logs.lines.join('\n')).toContain(failed.body.request_id);
      expect(api.logs.lines.join('\n')).not.toContain('param-value-never-logged');

      await redis.del(obstacleKey);
      const retried = await api.http.post('/ai/jobs').set(auth()).send(body);
      expect(retried.status).toBe(202);
      expect(retried.headers['idempotent-replayed']).toBeUndefined();
      const jobId = retried.body.job_id as string;
      expect(await redis.hgetall(`ai:jobs:${jobId}`)).toMatchObject({ job_id: jobId, workspace_id: 'acme', status: 'pending', client_request_id: 'atomic-1' });
      expect(await redis.get('ai:idempotency:acme:atomic-1')).toBe(jobId);
      expect(await redis.lrange('ai:queue:pending', 0, -1)).toContain(`acme:${jobId}`);
      expect(await redis.zrange('ai:index:acme:status:pending', '0', '-1')).toContain(`${retried.body.created_at}/${jobId}`);
      expect((await api.http.get(`/ai/jobs/${jobId}`).set(auth())).status).toBe(200);

      const replay = await api.http.post('/ai/jobs').set(auth()).send(body);
      expect([replay.status, replay.body.job_id]).toEqual([200, jobId]);
    });
  });

  it('refuses, writing nothing, an idempotency key naming a job whose record key has another type (reading it would raise inside the script)', async () => {
    // The key points at job "blocked"; ai:jobs:blocked is a string: the script checks its type instead of reading it.
    await redis.set('ai:idempotency:acme:runtime-1', 'blocked', 'EX', 86400);
    await redis.set('ai:jobs:blocked', 'not-a-hash');
    const before = await snapshot();

    const body = { action: 'debug.echo', params: { text: 'runtime-param-never-logged' }, client_request_id: 'runtime-1' };
    const failed = await api.http.post('/ai/jobs').set(auth()).send(body);
    expectSafeServerError(failed);
    expect(api.logs.lines.join('\n')).toContain(failed.body.request_id);
    expect(api.logs.lines.join('\n')).not.toContain('runtime-param-never-logged');
    expect(await snapshot()).toEqual(before);
    expect(await redis.llen('ai:queue:pending')).toBe(0);
    expect(await redis.exists('ai:index:acme:status:pending')).toBe(0);

    // Repaired: the stray record and the key that named it are gone (a key naming a missing job answers 410).
    await redis.del('ai:jobs:blocked', 'ai:idempotency:acme:runtime-1');
    const retried = await api.http.post('/ai/jobs').set(auth()).send(body);
    expect(retried.status).toBe(202);
    expect(await redis.get('ai:idempotency:acme:runtime-1')).toBe(retried.body.job_id);
  });

  describe.each(obstacles)('plan of several steps, when $name', ({ key: obstacleKey, place }) => {
    it('writes none of the steps, and the same plan succeeds whole once the obstacle is gone', async () => {
      await place(redis);
      const before = await snapshot();
      const steps = [1, 2, 3, 4].map((n) => ({ action: 'debug.echo', params: { n } }));
      const body = { steps, client_request_id: 'atomic-1' };

      const failed = await api.http.post('/ai/plans').set(auth()).send(body);
      expectSafeServerError(failed);
      expect(await snapshot()).toEqual(before);
      await expectNoJobWritten(obstacleKey);
      if (await redis.type('ai:queue:pending') === 'list') expect(await redis.llen('ai:queue:pending')).toBe(0);

      await redis.del(obstacleKey);
      const retried = await api.http.post('/ai/plans').set(auth()).send(body);
      expect(retried.status).toBe(202);
      expect(retried.headers['idempotent-replayed']).toBeUndefined();
      const ids = retried.body.job_ids as string[];
      expect(ids).toHaveLength(4);
      expect(await scanKeys('ai:jobs:*')).toEqual(ids.map((id) => `ai:jobs:${id}`).sort());
      expect(await redis.llen('ai:queue:pending')).toBe(4);
      expect(await redis.zcard('ai:index:acme:status:pending')).toBe(4);
      expect(await redis.get('ai:idempotency:acme:atomic-1')).toBe(ids[0]);
      for (const [i, id] of ids.entries()) {
        expect(JSON.parse((await redis.hget(`ai:jobs:${id}`, 'params'))!)).toEqual({ n: i + 1 });
      }
    });
  });

  it('rejects a whole plan with 403 when one step is not permitted, and writes nothing (the key stays free)', async () => {
    const earlier = await api.http.post('/ai/jobs').set(auth()).send({ action: 'debug.echo', params: {} });
    expect(earlier.status).toBe(202);
    const before = await snapshot();
    const jobsBefore = await scanKeys('ai:jobs:*');

    const steps = [
      { action: 'debug.echo', params: { n: 1 } },
      { action: 'gmail.send', params: { to: 'x@example.com' } },
      { action: 'debug.echo', params: { n: 3 } },
    ];
    const res = await api.http.post('/ai/plans').set(auth()).send({ steps, client_request_id: 'forbidden-1' });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ statusCode: 403, error: 'Forbidden', request_id: expect.any(String) });
    expect(JSON.stringify(res.body.message)).toMatch(/gmail\.send/);
    expect(JSON.stringify(res.body)).not.toMatch(/x@example\.com/);

    expect(await snapshot()).toEqual(before);
    expect(await scanKeys('ai:jobs:*')).toEqual(jobsBefore);
    expect(await scanKeys('ai:idempotency:*')).toEqual([]);
    expect(await redis.llen('ai:queue:pending')).toBe(1);
    expect(await redis.zcard('ai:index:acme:status:pending')).toBe(1);

    // The key was not consumed: a permitted plan under it is created, not a 422.
    const permitted = await api.http.post('/ai/plans').set(auth()).send({ steps: [steps[0], steps[2]], client_request_id: 'forbidden-1' });
    expect(permitted.status).toBe(202);
    expect(permitted.body.job_ids).toHaveLength(2);
  });

  it('rejects a single forbidden job with 403 and writes nothing', async () => {
    const before = await snapshot();
    const res = await api.http.post('/ai/jobs').set(auth()).send({ action: 'gmail.send', params: {}, client_request_id: 'forbidden-2' });
    expect(res.status).toBe(403);
    expect(await snapshot()).toEqual(before);
    await expectNoJobWritten();
  });
  /** All or nothing in the phases that write the scoped schema too (SPEC section 3: every copy, or none). */
  describe.each([
    { phase: 'phase 1 (dual-write)', env: { AI_JOBS_NEW_SCHEMA: 'on' } as Record<string, string>, legacy: true },
    { phase: 'phase 4 (legacy writes off)', env: { AI_JOBS_NEW_SCHEMA: 'on', READ_PREFERS_NEW: 'on', READ_FALLBACK_OLD: 'off', AI_JOBS_LEGACY_WRITES: 'off' } as Record<string, string>, legacy: false },
  ])('in $phase', ({ env, legacy }) => {
    let phased: ApiHarness;
    beforeAll(async () => {
      phased = await startApi(server.url, env);
    });
    afterAll(async () => {
      await phased?.close();
    });

    it.each(obstacles)('a plan writes no copy in either schema when $name, and succeeds whole on retry', async ({ key: obstacleKey, place }) => {
      await place(redis);
      const before = await snapshot();
      const body = { steps: [1, 2, 3].map((n) => ({ action: 'debug.echo', params: { n } })), client_request_id: 'atomic-1' };

      const failed = await phased.http.post('/ai/plans').set(auth()).send(body);
      expectSafeServerError(failed);
      expect(await snapshot()).toEqual(before);
      await expectNoJobWritten(obstacleKey);

      await redis.del(obstacleKey);
      const retried = await phased.http.post('/ai/plans').set(auth()).send(body);
      expect(retried.status).toBe(202);
      const ids = retried.body.job_ids as string[];
      expect(await scanKeys('ai:job:*')).toEqual(ids.map((id) => `ai:job:acme:${id}`).sort());
      expect(await scanKeys('ai:jobs:*')).toEqual(legacy ? ids.map((id) => `ai:jobs:${id}`).sort() : []);
      expect(await redis.llen('ai:queue:pending')).toBe(3);
      expect(await redis.get('ai:idempotency:acme:atomic-1')).toBe(ids[0]);
      for (const id of ids) expect((await phased.http.get(`/ai/jobs/${id}`).set(auth())).status).toBe(200);
    });

    it('a plan with a forbidden step is 403 and writes nothing', async () => {
      const before = await snapshot();
      const res = await phased.http
        .post('/ai/plans')
        .set(auth())
        .send({ steps: [{ action: 'debug.echo', params: {} }, { action: 'gmail.send', params: {} }], client_request_id: 'forbidden-3' });
      expect(res.status).toBe(403);
      expect(await snapshot()).toEqual(before);
      await expectNoJobWritten();
    });
  });

  // Relay's UUIDs never collide; the create script's own guard is exercised by calling it directly.
  describe.each([
    { copies: 'L', recordKeys: (id: string) => [`ai:jobs:${id}`], existing: (id: string) => `ai:jobs:${id}` },
    { copies: 'S', recordKeys: (id: string) => [`ai:job:acme:${id}`], existing: (id: string) => `ai:job:acme:${id}` },
    { copies: 'LS', recordKeys: (id: string) => [`ai:jobs:${id}`, `ai:job:acme:${id}`], existing: (id: string) => `ai:job:acme:${id}` },
  ] as const)('createJobs with copies $copies', ({ copies, recordKeys, existing }) => {
    const job = (id: string) => ({ copies, jobId: id, actorId: 'agent-1', provider: 'debug', name: 'echo', paramsJson: '{"n":1}' });
    /** The created_at a call gave its jobs: Redis's clock, as ISO 8601. */
    const createdAt = (replies: unknown[]) => {
      expect(replies).toEqual([{ outcome: 'created', createdAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/) }]);
      return (replies[0] as { createdAt: string }).createdAt;
    };
    it('refuses a plan whose second job id already has a record, before any write; without it the same call writes both', async () => {
      const scripts = new QueueScripts(redis);
      const call = () => scripts.createJobs([{ workspaceId: 'acme', requestHash: '', jobs: ['fresh', 'taken'].map(job) }]);
      await redis.hset(existing('taken'), 'job_id', 'taken', 'workspace_id', 'acme');
      const before = await snapshot();

      expect(await call()).toEqual([{ outcome: 'refused', reason: 'job id already exists' }]);
      expect(await snapshot()).toEqual(before);

      await redis.del(existing('taken'));
      const now = createdAt(await call());
      expect(await redis.zrange('ai:index:acme:status:pending', '0', '-1')).toEqual([`${now}/fresh`, `${now}/taken`]);
      expect(await redis.lrange('ai:queue:pending', 0, -1)).toEqual(['acme:taken', 'acme:fresh']);
      for (const id of ['fresh', 'taken']) {
        for (const k of recordKeys(id)) expect(await redis.hmget(k, 'job_id', 'status', 'params', 'created_at')).toEqual([id, 'pending', '{"n":1}', now]);
      }
      expect(await scanKeys('ai:job*')).toEqual([...recordKeys('fresh'), ...recordKeys('taken')].sort());
    });

    it('requests sharing one call are each all-or-nothing: a refused one writes nothing, the ones around it are created', async () => {
      const scripts = new QueueScripts(redis);
      const request = (ws: string, ids: string[]): CreateScriptRequest => ({ workspaceId: ws, requestHash: '', jobs: ids.map(job) });
      // A request whose idempotency key names a job whose record key is a string: refused by a type check
      // (a read of that key would raise and fail the whole call, the request written before it included).
      const blockedKey = copies === 'L' ? 'ai:jobs:blocked' : 'ai:job:acme:blocked';
      const idempotent: CreateScriptRequest = { workspaceId: 'acme', clientRequestId: 'dup', requestHash: 'hash-1', jobs: [job('d1')] };
      await redis.set('ai:idempotency:acme:dup', 'blocked', 'EX', 60);
      await redis.set(blockedKey, 'not-a-hash');
      const requests = [request('acme', ['a1']), request('acme', ['b1', 'taken']), idempotent, request('beta', ['c1', 'c2'])];
      await redis.hset(existing('taken'), 'job_id', 'taken', 'workspace_id', 'acme');

      const replies = await scripts.createJobs(requests);
      const now = createdAt([replies[0]]);
      expect(replies).toEqual([
        { outcome: 'created', createdAt: now },
        { outcome: 'refused', reason: 'job id already exists' },
        { outcome: 'refused', reason: 'job record holds another type' },
        { outcome: 'created', createdAt: now },
      ]);
      expect(await redis.get('ai:idempotency:acme:dup')).toBe('blocked');
      expect(await redis.zrange('ai:index:acme:status:pending', '0', '-1')).toEqual([`${now}/a1`]);
      expect(await redis.zrange('ai:index:beta:status:pending', '0', '-1')).toEqual([`${now}/c1`, `${now}/c2`]);
      expect(await redis.lrange('ai:queue:pending', 0, -1)).toEqual(['beta:c2', 'beta:c1', 'acme:a1']);
      const records = (await scanKeys('ai:job*')).filter((k) => k !== existing('taken') && k !== blockedKey);
      expect(records).toEqual(['a1', 'c1', 'c2'].flatMap((id) => recordKeys(id).map((k) => (id.startsWith('c') ? k.replace(':acme:', ':beta:') : k))).sort());
    });

    // The call checks every request's record keys with one EXISTS first; only when that finds one does
    // each request check its own, so the collision must still refuse its own request and no other.
    it.each([
      { taken: 'second', ids: [['a1', 'a2'], ['b1', 'taken']], created: ['a1', 'a2'] },
      { taken: 'first', ids: [['a1', 'taken'], ['b1', 'b2']], created: ['b1', 'b2'] },
    ])('a collision in the $taken of two requests in one call refuses only that request', async ({ ids, created }) => {
      const scripts = new QueueScripts(redis);
      await redis.hset(existing('taken'), 'job_id', 'taken', 'workspace_id', 'acme', 'status', 'succeeded');
      const takenBefore = await redis.dumpBuffer(existing('taken'));

      const replies = await scripts.createJobs(ids.map((jobIds) => ({ workspaceId: 'acme', requestHash: '', jobs: jobIds.map(job) })));
      const refusal = { outcome: 'refused', reason: 'job id already exists' };
      const now = createdAt(replies.filter((r) => r.outcome === 'created'));
      expect(replies).toEqual(ids[0].includes('taken') ? [refusal, { outcome: 'created', createdAt: now }] : [{ outcome: 'created', createdAt: now }, refusal]);
      expect(await redis.dumpBuffer(existing('taken'))).toEqual(takenBefore);
      expect(await redis.zrange('ai:index:acme:status:pending', '0', '-1')).toEqual(created.map((id) => `${now}/${id}`));
      expect(await redis.lrange('ai:queue:pending', 0, -1)).toEqual(created.map((id) => `acme:${id}`).reverse());
      expect((await scanKeys('ai:job*')).filter((k) => k !== existing('taken'))).toEqual(created.flatMap(recordKeys).sort());
      for (const id of created) expect((await redis.xrange('ai:events:acme', '-', '+')).some(([, f]) => f.includes(id))).toBe(true);
      expect(await redis.xlen('ai:events:acme')).toBe(2);
    });

    it('a job id repeated by a later request of the same call refuses that request (the earlier one is created)', async () => {
      const scripts = new QueueScripts(redis);
      const replies = await scripts.createJobs([
        { workspaceId: 'acme', requestHash: '', jobs: ['twice'].map(job) },
        { workspaceId: 'acme', requestHash: '', jobs: ['other', 'twice'].map(job) },
      ]);
      const now = createdAt([replies[0]]);
      expect(replies[1]).toEqual({ outcome: 'refused', reason: 'job id already exists' });
      expect(await redis.zrange('ai:index:acme:status:pending', '0', '-1')).toEqual([`${now}/twice`]);
      expect(await redis.lrange('ai:queue:pending', 0, -1)).toEqual(['acme:twice']);
      expect(await scanKeys('ai:job*')).toEqual(recordKeys('twice').sort());
    });
  });

  it('submits made together share createJobs calls; those of a workspace whose index is broken fail, the others in the same calls are created', async () => {
    // The store as the API builds it, dual-write (both copies), on this file's Redis.
    const client = new Redis(server.url, { enableOfflineQueue: false, commandTimeout: 5000 });
    const monitor = await redis.monitor();
    try {
      await new Promise<void>((resolve) => (client.status === 'ready' ? resolve() : client.once('ready', () => resolve())));
      const flags = { newSchema: true, canaryPct: 100, readPrefersNew: false, readFallbackOld: true, legacyWrites: true };
      const store = new RedisJobStore(new QueueScripts(client), selectStorageStrategy(flags), new RelayMetrics(), 86400);
      await redis.set('ai:index:acme:status:pending', 'somestring');
      // Workspaces named in each createJobs call on this file's database, 0 (its keys: the queue, the delayed set, then per request its pending index).
      const calls: string[][] = [];
      monitor.on('monitor', (_time: string, args: string[], _source: string, database: string) => {
        // ioredis sends a script's first call on a connection as EVAL, later ones as EVALSHA (same argument layout).
        const command = args[0].toLowerCase();
        if (String(database) !== '0' || (command !== 'evalsha' && command !== 'eval') || args[3] !== 'ai:queue:pending') return;
        const keys = args.slice(3, 3 + Number(args[2]));
        if (keys[1] !== 'ai:queue:delayed' || !keys[2]?.startsWith('ai:index:')) return; // a worker script, not a submit
        calls.push(keys.flatMap((k) => /^ai:index:([^:]+):status:pending$/.exec(k)?.[1] ?? []));
      });
      await new Promise((r) => setTimeout(r, 50)); // MONITOR is on before the first submit

      // All made in one turn of the event loop: the first few go at once, the rest wait and share calls.
      const workspaces = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 'acme' : 'beta'));
      const outcomes = await Promise.allSettled(
        workspaces.map((ws, i) => store.create({ workspaceId: ws, jobs: [{ actorId: 'agent-1', action: 'debug.echo', params: { i } }], kind: 'job' })),
      );

      outcomes.forEach((outcome, i) => {
        if (workspaces[i] === 'acme') {
          expect(outcome.status).toBe('rejected');
          expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(StorageRefusedError);
        } else {
          expect(outcome).toMatchObject({ status: 'fulfilled', value: { outcome: 'created' } });
        }
      });
      const created = outcomes.flatMap((o) => (o.status === 'fulfilled' && o.value.outcome === 'created' ? o.value.jobIds : []));
      expect(created).toHaveLength(20);
      for (const id of created) {
        expect(await redis.hget(`ai:jobs:${id}`, 'workspace_id')).toBe('beta');
        expect(await redis.hget(`ai:job:beta:${id}`, 'status')).toBe('pending');
      }
      expect((await redis.lrange('ai:queue:pending', 0, -1)).sort()).toEqual(created.map((id) => `beta:${id}`).sort());
      expect(await redis.zcard('ai:index:beta:status:pending')).toBe(20);
      expect(await redis.get('ai:index:acme:status:pending')).toBe('somestring');
      expect(await scanKeys('ai:job:acme:*')).toEqual([]);

      await new Promise((r) => setTimeout(r, 50)); // the last MONITOR lines
      expect(calls.flat()).toHaveLength(40); // every submit went in exactly one call
      expect(calls.length).toBeLessThan(40); // and some shared one
      expect(calls.some((c) => c.includes('acme') && c.includes('beta'))).toBe(true); // refused and created side by side
    } finally {
      monitor.disconnect();
      client.disconnect();
    }
  });
});
