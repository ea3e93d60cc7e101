import type { Redis } from 'ioredis';
import { LegacyIndexer, QueueScripts } from '@relay/queue';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { runRelay } from './support/cli-runner.js';
import { expectEventually } from './support/expect-eventually.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * Issue 13, point 1: the predecessor system may go on writing `ai:jobs:*`
 * records after Relay's API started (a rolling deploy, a straggler cron).
 * The API sweeps them into the index again every LEGACY_INDEX_INTERVAL_MS,
 * one process at a time, resuming where a pass stopped, until `relay migrate
 * index --final`. Records are written here exactly as the predecessor wrote
 * them: a plain HSET of the SPEC's fields, nothing of Relay's.
 */

type Env = Record<string, string>;
/** Flags of the phases that read legacy records (README "Migration runbook"). */
const READING_LEGACY: Record<number, Env> = { 0: {}, 1: { AI_JOBS_NEW_SCHEMA: 'on' }, 2: { AI_JOBS_NEW_SCHEMA: 'on', READ_PREFERS_NEW: 'on' } };
const INTERVAL_MS = 300;
/** The documented bound: a record is listed within the interval plus one pass; generous for a loaded machine. */
const LISTED_WITHIN_MS = INTERVAL_MS + 5000;
const FAST: Env = { LEGACY_INDEX_INTERVAL_MS: String(INTERVAL_MS), RATE_LIMIT_MAX: '0' };
/** An interval no test waits for: only the start-up pass and explicit sweepOnce() calls run. */
const SLOW: Env = { LEGACY_INDEX_INTERVAL_MS: '600000', RATE_LIMIT_MAX: '0' };

const LOCK = 'ai:migration:legacy-index-lock';
const CHECKPOINT = 'ai:migration:legacy-index-cursor';
const FINAL = 'ai:migration:legacy-index-final';
const LAST_PASS = 'ai:migration:legacy-indexed';

function predecessorRecord(jobId: string, createdAt: string, status = 'pending', workspaceId = 'acme'): Record<string, string> {
  const finished = status === 'pending' || status === 'running' ? '' : createdAt;
  return {
    job_id: jobId, workspace_id: workspaceId, actor_id: 'old-system', action_provider: 'gmail', action_name: 'send',
    params: '{"to":"x@example.com"}', status, attempts: status === 'pending' ? '0' : '1', result: '', error: '',
    client_request_id: '', created_at: createdAt, updated_at: createdAt, started_at: finished, finished_at: finished,
  };
}

describe('predecessor records written after start-up (the repeating legacy index sweep)', () => {
  let server: FileRedis;
  let redis: Redis;
  const apis: ApiHarness[] = [];

  const start = async (env: Env) => {
    const api = await startApi(server.url, env);
    apis.push(api);
    return api;
  };
  const write = (jobId: string, createdAt: string, status?: string) => redis.hset(`ai:jobs:${jobId}`, predecessorRecord(jobId, createdAt, status));
  const auth = async (api: ApiHarness) => ({ Authorization: `Bearer ${await api.key('acme')}` });

  /** One page: ids and next cursor. */
  async function page(api: ApiHarness, headers: Env, query: Record<string, string | number>): Promise<{ ids: string[]; next: string | null }> {
    const res = await api.http.get('/ai/jobs').query(query).set(headers);
    expect(res.status).toBe(200);
    return { ids: (res.body.items as Array<{ job_id: string }>).map((i) => i.job_id), next: res.body.next_cursor as string | null };
  }

  /** Every id from `cursor` (or the first page) to the end, in pages of `limit`, in order. At most 50 pages. */
  async function walk(api: ApiHarness, headers: Env, limit: number, cursor?: string, status?: string): Promise<string[]> {
    const ids: string[] = [];
    let next: string | null | undefined = cursor;
    for (let pages = 0; pages < 50; pages++) {
      const got = await page(api, headers, { limit, ...(next ? { cursor: next } : {}), ...(status ? { status } : {}) });
      ids.push(...got.ids);
      if (!got.next) return ids;
      next = got.next;
    }
    throw new Error('more than 50 pages');
  }

  async function submit(api: ApiHarness, headers: Env): Promise<string> {
    const res = await api.http.post('/ai/jobs').set(headers).send({ action: 'debug.echo', params: {} });
    expect(res.status).toBe(202);
    return res.body.job_id as string;
  }

  beforeAll(async () => {
    server = await fileRedis();
    redis = server.redis;
  });
  beforeEach(async () => {
    await redis.flushdb();
  });
  afterEach(async () => {
    while (apis.length > 0) await apis.pop()!.close();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it.each([0, 1, 2])('phase %i: records written after the first pass are listed within the interval, exactly once, filtered by status too', async (phase) => {
    await write('before-start', '2025-10-17T10:00:00.000Z');
    const api = await start({ ...READING_LEGACY[phase], ...FAST });
    const headers = await auth(api);
    // A list waits for the first pass.
    expect((await page(api, headers, { limit: 100 })).ids).toContain('before-start');
    expect(await redis.get(LAST_PASS)).not.toBeNull();
    const own = await submit(api, headers);

    const late = ['late-new', 'late-old', 'late-done'];
    await write('late-new', new Date().toISOString());
    await write('late-old', '2025-10-17T09:00:00.000Z');
    await write('late-done', '2025-10-17T11:00:00.000Z', 'succeeded');
    const wroteAt = Date.now();
    await expectEventually(async () => expect((await page(api, headers, { limit: 100 })).ids).toEqual(expect.arrayContaining(late)), LISTED_WITHIN_MS, 50);
    expect(Date.now() - wroteAt).toBeLessThan(LISTED_WITHIN_MS);

    // Exactly once, in pages small enough to cross every record.
    const walked = await walk(api, headers, 2);
    expect(walked.slice().sort()).toEqual(['before-start', own, ...late].sort());
    expect(await walk(api, headers, 1, undefined, 'succeeded')).toEqual(['late-done']);
    expect((await walk(api, headers, 2, undefined, 'pending')).sort()).toEqual(['before-start', own, 'late-new', 'late-old'].sort());
  });

  it("a cursor taken before the records appeared pages on across a phase change without a gap or duplicate among Relay's own jobs", async () => {
    const phase0 = await start({ ...READING_LEGACY[0], ...FAST });
    const phase2 = await start({ ...READING_LEGACY[2], ...FAST });
    const headers = await auth(phase0);
    expect((await page(phase2, headers, { limit: 1 })).ids).toEqual([]); // both processes past their first pass
    const own: string[] = [];
    for (let i = 0; i < 7; i++) own.push(await submit(phase0, headers));

    const first = await page(phase0, headers, { limit: 3 });
    expect(first.next).not.toBeNull();
    // Behind the cursor (older than every job on the first page) and ahead of it (newer than all).
    await write('behind-1', '2025-10-17T10:00:00.000Z');
    await write('behind-2', '2025-10-17T10:00:01.000Z', 'failed');
    await write('ahead-1', new Date(Date.now() + 3600000).toISOString());
    await expectEventually(
      async () => expect((await page(phase2, headers, { limit: 100 })).ids).toEqual(expect.arrayContaining(['behind-1', 'behind-2', 'ahead-1'])),
      LISTED_WITHIN_MS,
      50,
    );

    const rest = await walk(phase2, headers, 3, first.next!);
    const ownSeen = [...first.ids, ...rest].filter((id) => own.includes(id));
    expect(ownSeen).toHaveLength(own.length);
    expect(ownSeen.slice().sort()).toEqual(own.slice().sort());
    // Records behind the cursor come on the pages after it, once; one ahead of it belongs to pages already read.
    expect(rest.filter((id) => !own.includes(id))).toEqual(['behind-2', 'behind-1']);
  });

  it('moves a record whose status the predecessor changed to its new status index, and gives it the expiry it got', async () => {
    await write('moving', '2025-10-17T10:00:00.000Z', 'pending');
    const api = await start(FAST);
    const headers = await auth(api);
    expect(await walk(api, headers, 10, undefined, 'pending')).toEqual(['moving']);

    await redis.hset('ai:jobs:moving', { status: 'succeeded', finished_at: '2025-10-17T10:00:05.000Z', result: '{"ok":true}' });
    await redis.pexpire('ai:jobs:moving', 600000);
    await expectEventually(async () => expect(await walk(api, headers, 10, undefined, 'succeeded')).toEqual(['moving']), LISTED_WITHIN_MS, 50);
    expect(await walk(api, headers, 10, undefined, 'pending')).toEqual([]);
    expect(await redis.zrange('ai:index:acme:status:pending', '0', '-1')).toEqual([]);
    expect(await redis.zrange('ai:index:acme:status:succeeded', '0', '-1')).toEqual(['2025-10-17T10:00:00.000Z/moving']);
    expect(await redis.zrange('ai:queue:retention', '0', '-1')).toContain('acme|succeeded|2025-10-17T10:00:00.000Z/moving');
  });

  it('sweeps one API process at a time: a pass that finds the lock held by another does nothing', async () => {
    const a = await start(SLOW);
    const b = await start(SLOW);
    const headers = await auth(a);
    await page(a, headers, { limit: 1 });
    await page(b, headers, { limit: 1 });
    const indexers = [a.app.get(LegacyIndexer), b.app.get(LegacyIndexer)];
    // The process whose start-up pass ran holds the lock for the interval; the other finds it busy.
    await write('one-at-a-time', '2025-10-17T10:00:00.000Z');
    const outcomes = [await indexers[0].sweepOnce(), await indexers[1].sweepOnce()];
    expect(outcomes.slice().sort()).toEqual(['busy', 'complete']);
    expect(await redis.zscore('ai:index:acme:status:pending', '2025-10-17T10:00:00.000Z/one-at-a-time')).not.toBeNull();

    // A third process (or a replica of an older build) holds it: neither sweeps.
    await redis.set(LOCK, 'another-process', 'PX', 600000);
    await write('while-held', '2025-10-17T10:00:01.000Z');
    expect([await indexers[0].sweepOnce(), await indexers[1].sweepOnce()]).toEqual(['busy', 'busy']);
    expect(await redis.zscore('ai:index:acme:status:pending', '2025-10-17T10:00:01.000Z/while-held')).toBeNull();
    // Once it is gone (its expiry passed), the next pass picks the record up.
    await redis.del(LOCK);
    expect(await indexers[1].sweepOnce()).toBe('complete');
    expect(await redis.zscore('ai:index:acme:status:pending', '2025-10-17T10:00:01.000Z/while-held')).not.toBeNull();
  });

  it('a batch whose token no longer holds the lock writes nothing, its checkpoint included (a replica whose lock lapsed)', async () => {
    const api = await start(SLOW);
    await page(api, await auth(api), { limit: 1 });
    await write('fenced', '2025-10-17T10:00:00.000Z');
    await redis.set(LOCK, 'the-new-holder', 'PX', 600000);
    await redis.set(CHECKPOINT, '96');
    const reply = await api.app.get(QueueScripts).indexLegacyJobs(['ai:jobs:fenced'], { token: 'lapsed', lockMs: 10000, nextCursor: '12', holdMs: 0 });
    expect(reply).toBe('lost');
    expect(await redis.get(CHECKPOINT)).toBe('96');
    expect(await redis.get(LOCK)).toBe('the-new-holder');
    expect(await redis.zcard('ai:index:acme:status:pending')).toBe(0);
  });

  it("a key of another type in an index's place skips that record only: the pass completes and indexes the others", async () => {
    const api = await start(SLOW);
    await page(api, await auth(api), { limit: 1 });
    await redis.set('ai:index:broken:status:pending', 'not a sorted set');
    await redis.hset('ai:jobs:in-broken', { ...predecessorRecord('in-broken', '2025-10-17T10:00:00.000Z'), workspace_id: 'broken' });
    await write('next-to-it', '2025-10-17T10:00:01.000Z');
    // The API's sweep goes past it, finishes its pass (no checkpoint left to get stuck on) and says why it skipped one.
    expect(await api.app.get(LegacyIndexer).sweepOnce()).toBe('complete');
    expect(await redis.zscore('ai:index:acme:status:pending', '2025-10-17T10:00:01.000Z/next-to-it')).not.toBeNull();
    expect(await redis.get(CHECKPOINT)).toBeNull();
    expect(api.logs.lines.filter((line) => line.includes('an index key of another type is in the way'))).toHaveLength(1);
    // So does the operator's pass, which counts it.
    await write('after-broken', '2025-10-17T10:00:02.000Z');
    const run = await runRelay({ REDIS_URL: server.url }, ['migrate', 'index', '--json']);
    expect(JSON.parse(run.out[0])).toMatchObject({ scanned: 3, indexed: 1, failed: 1 });
    expect(await redis.zscore('ai:index:acme:status:pending', '2025-10-17T10:00:02.000Z/after-broken')).not.toBeNull();
  });

  it('a pass resumes from the checkpoint an interrupted one left, and the next pass covers the whole keyspace', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `resume-${String(i).padStart(2, '0')}`);
    for (const [i, id] of ids.entries()) await write(id, new Date(Date.parse('2025-10-17T10:00:00.000Z') + i * 1000).toISOString());
    // Where an interrupted pass stopped: after the first SCAN steps, which saw `done`.
    const done: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'ai:jobs:*', 'COUNT', 1);
      cursor = next;
      done.push(...keys.map((k) => k.slice('ai:jobs:'.length)));
    } while (done.length === 0 && cursor !== '0');
    expect(cursor).not.toBe('0');
    await redis.set(CHECKPOINT, cursor);

    const api = await start(SLOW);
    const headers = await auth(api);
    const afterResume = await walk(api, headers, 100);
    expect(afterResume.slice().sort()).toEqual(ids.filter((id) => !done.includes(id)));
    expect(await redis.get(CHECKPOINT)).toBeNull();
    // The next pass starts from the beginning.
    expect(await api.app.get(LegacyIndexer).sweepOnce()).toBe('complete');
    expect((await walk(api, headers, 100)).sort()).toEqual(ids);
  });

  it('relay migrate index runs a pass on demand; --final stops every sweep for good', async () => {
    const api = await start(SLOW);
    const headers = await auth(api);
    await page(api, headers, { limit: 1 });
    const own = await submit(api, headers);
    await write('on-demand-1', '2025-10-17T10:00:00.000Z');
    await write('on-demand-2', '2025-10-17T10:00:01.000Z', 'cancelled');
    await redis.hset('ai:jobs:on-demand-bad', predecessorRecord('on-demand-bad', 'yesterday'));
    const env = { REDIS_URL: server.url };

    const run = await runRelay(env, ['migrate', 'index', '--json']);
    expect({ code: run.code, err: run.err }).toEqual({ code: 0, err: [] });
    expect(JSON.parse(run.out[0])).toEqual({ scanned: 4, indexed: 2, moved: 0, invalid: 1, relayOwn: 1, failed: 0, resumedFrom: '0', final: false });
    expect((await walk(api, headers, 100)).sort()).toEqual(['on-demand-1', 'on-demand-2', own].sort());
    expect(await redis.exists(FINAL)).toBe(0);

    const text = await runRelay(env, ['migrate', 'index', '--final']);
    expect(text.code).toBe(0);
    expect(text.out.join('\n')).toMatch(/indexed 0 predecessor records.*\n.*declared gone/);
    expect(await redis.get(FINAL)).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT/));

    // After it, no process sweeps: neither the running one nor one started later.
    await write('after-final', '2025-10-17T10:00:02.000Z');
    expect(await api.app.get(LegacyIndexer).sweepOnce()).toBe('final');
    const later = await start(FAST);
    expect(await walk(later, headers, 100)).not.toContain('after-final');
    expect(await later.app.get(LegacyIndexer).sweepOnce()).toBe('final');
    expect(await redis.zscore('ai:index:acme:status:pending', '2025-10-17T10:00:02.000Z/after-final')).toBeNull();
    const status = await runRelay(env, ['migrate', 'status']);
    expect(status.out.join('\n')).toMatch(/legacy index sweep: stopped for good/);
  });
});
