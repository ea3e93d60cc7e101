import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * GET /ai/jobs (SPEC section 4): newest first (created_at descending, ties by
 * job id descending, compared as bytes like the index), no duplicates and no
 * gaps across pages, items without params, opaque cursors, expired records
 * passed over. Every test works in workspaces of its own, so the order of the
 * tests does not matter.
 */

interface Ref {
  job_id: string;
  created_at: string;
}
interface Item extends Ref {
  workspace_id: string;
  status: string;
  [field: string]: unknown;
}
interface Page {
  items: Item[];
  next_cursor: string | null;
}

const SUMMARY_FIELDS = [
  'action', 'actor_id', 'attempts', 'client_request_id', 'created_at', 'error', 'finished_at',
  'job_id', 'progress', 'progress_message', 'result', 'run_at', 'started_at', 'status', 'updated_at', 'workspace_id',
].sort();

/** The index position of a job: `<created_at>/<job_id>`, which sorts as the list must. */
const position = (j: Ref) => `${j.created_at}/${j.job_id}`;
const bytewise = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
/** Newest first: created_at descending, ties by job id descending. */
const newestFirst = <T extends Ref>(jobs: Iterable<T>): T[] => [...jobs].sort((a, b) => bytewise(position(b), position(a)));
const ids = (jobs: Ref[]) => jobs.map((j) => j.job_id);

/** Waits (without a fixed sleep) until the clock reads later than `iso`, so the next job is strictly newer. */
async function clockPasses(iso: string): Promise<void> {
  while (new Date().toISOString() <= iso) await new Promise((r) => setImmediate(r));
}

describe('GET /ai/jobs listing on a real Redis', () => {
  let api: ApiHarness;
  let redis: Redis;
  let server: FileRedis;
  const keys = new Map<string, string>();

  async function keyFor(workspace: string): Promise<string> {
    let key = keys.get(workspace);
    if (!key) {
      key = await api.key(workspace, ['actions:execute', 'actions:preview'], 'lister');
      keys.set(workspace, key);
    }
    return key;
  }
  const auth = async (workspace: string) => ({ Authorization: `Bearer ${await keyFor(workspace)}` });

  /** Submits `n` jobs (one POST /ai/jobs, or one plan for n > 1, whose jobs share created_at). */
  async function submit(workspace: string, n = 1, params: Record<string, unknown> = {}): Promise<Ref[]> {
    if (n === 1) {
      const res = await api.http.post('/ai/jobs').set(await auth(workspace)).send({ action: 'debug.echo', params });
      expect(res.status).toBe(202);
      return [{ job_id: res.body.job_id, created_at: res.body.created_at }];
    }
    const steps = Array.from({ length: n }, (_, i) => ({ action: 'debug.echo', params: { ...params, i } }));
    const res = await api.http.post('/ai/plans').set(await auth(workspace)).send({ steps });
    expect(res.status).toBe(202);
    return (res.body.job_ids as string[]).map((job_id) => ({ job_id, created_at: res.body.created_at }));
  }

  async function submitMany(workspace: string, count: number): Promise<Ref[]> {
    const jobs: Ref[] = [];
    for (let i = 0; i < count; i++) jobs.push(...(await submit(workspace)));
    return jobs;
  }

  async function cancel(workspace: string, jobId: string): Promise<void> {
    const res = await api.http.post(`/ai/jobs/${jobId}/cancel`).set(await auth(workspace));
    expect(res.status).toBe(200);
  }

  async function page(workspace: string, query: Record<string, string | number | undefined>): Promise<Page> {
    const qs = Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined));
    const res = await api.http.get('/ai/jobs').query(qs).set(await auth(workspace));
    expect({ status: res.status, body: res.status === 200 ? 'ok' : res.body }).toEqual({ status: 200, body: 'ok' });
    return res.body as Page;
  }

  /**
   * Follows next_cursor to the end. Checks on the way: no page is longer
   * than the limit, every page but the last is full (expired records do not
   * shorten pages), a non-null next_cursor is never followed by an empty
   * page. `between` runs after each page but the last.
   */
  async function walk(workspace: string, limit: number, status?: string, between?: (p: Page) => Promise<void>) {
    const items: Item[] = [];
    const pages: Page[] = [];
    let cursor: string | undefined;
    for (let guard = 0; guard < 10_000; guard++) {
      const p = await page(workspace, { limit, cursor, status });
      pages.push(p);
      items.push(...p.items);
      expect(p.items.length).toBeLessThanOrEqual(limit);
      if (p.next_cursor === null) break;
      expect(p.items).toHaveLength(limit);
      cursor = p.next_cursor;
      if (between) await between(p);
    }
    expect(pages.at(-1)!.next_cursor).toBeNull();
    if (items.length > 0) expect(pages.at(-1)!.items.length).toBeGreaterThan(0);
    return { items, pages };
  }

  beforeAll(async () => {
    server = await fileRedis();
    redis = server.redis;
    // Rate limiting is not under test here; the walks with limit 1 send many requests.
    api = await startApi(server.url, { RATE_LIMIT_MAX: '0' });
  });
  afterAll(async () => {
    await api?.close();
    await server?.stop();
  });

  describe('order, limit and walks', () => {
    const ws = 'walk';
    let model: Ref[];

    beforeAll(async () => {
      // Singles (distinct timestamps, mostly) and plans (several jobs with one created_at: ties).
      const jobs: Ref[] = [];
      jobs.push(...(await submitMany(ws, 20)));
      jobs.push(...(await submit(ws, 12, { password: 'hunter2-in-params' })));
      jobs.push(...(await submitMany(ws, 25)));
      jobs.push(...(await submit(ws, 11)));
      jobs.push(...(await submitMany(ws, 5)));
      model = newestFirst(jobs);
      expect(model).toHaveLength(73);
    });

    it('lists newest first: created_at descending, ties by job id descending', async () => {
      const { items, next_cursor } = await page(ws, { limit: 100 });
      expect(next_cursor).toBeNull();
      expect(ids(items)).toEqual(ids(model));
      for (let i = 1; i < items.length; i++) {
        const [prev, cur] = [items[i - 1], items[i]];
        expect(cur.created_at <= prev.created_at).toBe(true);
        if (cur.created_at === prev.created_at) expect(bytewise(cur.job_id, prev.job_id)).toBeLessThan(0);
      }
      // The plans really produced ties, so the tie-break was exercised.
      expect(new Set(items.map((j) => j.created_at)).size).toBeLessThan(items.length);
      expect(items.every((j) => j.workspace_id === ws)).toBe(true);
    });

    it('defaults to 50 items and respects an explicit limit', async () => {
      const first = await page(ws, {});
      expect(first.items).toHaveLength(50);
      expect(ids(first.items)).toEqual(ids(model.slice(0, 50)));
      expect(first.next_cursor).toEqual(expect.any(String));

      const seven = await page(ws, { limit: 7 });
      expect(ids(seven.items)).toEqual(ids(model.slice(0, 7)));
      expect(seven.next_cursor).toEqual(expect.any(String));

      const one = await page(ws, { limit: 1 });
      expect(ids(one.items)).toEqual(ids(model.slice(0, 1)));
    });

    it('refuses a limit outside 1..100 and a malformed cursor with 400', async () => {
      const headers = await auth(ws);
      for (const query of [{ limit: '0' }, { limit: '101' }, { limit: 'ten' }, { limit: '2.5' }, { cursor: 'not a cursor!' }, { cursor: 'Zm9vYmFy' }]) {
        const res = await api.http.get('/ai/jobs').query(query).set(headers);
        expect([JSON.stringify(query), res.status]).toEqual([JSON.stringify(query), 400]);
        expect(res.body).toMatchObject({ statusCode: 400, request_id: expect.any(String) });
      }
    });

    it('never includes params in list items', async () => {
      const res = await api.http.get('/ai/jobs').query({ limit: 100 }).set(await auth(ws));
      expect(res.status).toBe(200);
      expect(res.text).not.toContain('hunter2-in-params');
      for (const item of res.body.items as Item[]) {
        expect(item).not.toHaveProperty('params');
        expect(item).not.toHaveProperty('request_hash');
        expect(Object.keys(item).sort()).toEqual(SUMMARY_FIELDS);
      }
    });

    it('has next_cursor null on the last page, also when the last page is exactly full', async () => {
      expect((await page(ws, { limit: 73 })).next_cursor).toBeNull();
      const all = await page(ws, { limit: 72 });
      expect(all.next_cursor).toEqual(expect.any(String));
      const last = await page(ws, { limit: 1, cursor: all.next_cursor! });
      expect(ids(last.items)).toEqual([model[72].job_id]);
      expect(last.next_cursor).toBeNull();
    });

    it.each([1, 2, 7, 50, 73, 100])('walks every job exactly once, in the order of one big page, with limit %i', async (limit) => {
      const { items, pages } = await walk(ws, limit);
      expect(ids(items)).toEqual(ids(model));
      expect(new Set(ids(items)).size).toBe(items.length);
      expect(pages).toHaveLength(Math.max(1, Math.ceil(model.length / limit)));
    });
  });

  describe('status filter', () => {
    const ws = 'filter';
    let model: Ref[];
    let cancelled: Set<string>;

    beforeAll(async () => {
      model = newestFirst([...(await submitMany(ws, 14)), ...(await submit(ws, 6)), ...(await submitMany(ws, 5))]);
      // Cancel the newest, the oldest, and a scatter in between.
      cancelled = new Set([0, 1, 4, 9, 10, 11, 17, 24].map((i) => model[i].job_id));
      for (const id of cancelled) await cancel(ws, id);
    });

    it.each([1, 2, 3, 7, 50])('?status=cancelled returns only cancelled jobs, newest first, paginated with limit %i', async (limit) => {
      const { items } = await walk(ws, limit, 'cancelled');
      expect(items.every((j) => j.status === 'cancelled')).toBe(true);
      expect(ids(items)).toEqual(ids(model.filter((j) => cancelled.has(j.job_id))));
    });

    it.each([1, 2, 3, 7, 50])('?status=pending returns only pending jobs, newest first, paginated with limit %i', async (limit) => {
      const { items } = await walk(ws, limit, 'pending');
      expect(items.every((j) => j.status === 'pending')).toBe(true);
      expect(ids(items)).toEqual(ids(model.filter((j) => !cancelled.has(j.job_id))));
    });

    it('a status nobody has gives an empty page with next_cursor null; an unknown status is 400', async () => {
      expect(await page(ws, { status: 'succeeded' })).toEqual({ items: [], next_cursor: null });
      const res = await api.http.get('/ai/jobs').query({ status: 'exploded' }).set(await auth(ws));
      expect(res.status).toBe(400);
    });

    it('without a filter still lists every job once, with its current status', async () => {
      const { items } = await walk(ws, 4);
      expect(ids(items)).toEqual(ids(model));
      for (const j of items) expect(j.status).toBe(cancelled.has(j.job_id) ? 'cancelled' : 'pending');
    });
  });

  it('jobs submitted between page fetches cause no duplicates and no gaps; they appear only at the front', async () => {
    const ws = 'moving';
    const existing = newestFirst([...(await submitMany(ws, 17)), ...(await submit(ws, 5))]);
    const added: Ref[] = [];
    const { items } = await walk(ws, 3, undefined, async () => {
      // Strictly newer than everything so far, so ahead of the walk's position.
      await clockPasses(newestFirst([...existing, ...added])[0].created_at);
      added.push(...(await submit(ws)), ...(await submit(ws, 2)));
    });
    expect(added.length).toBeGreaterThan(0);
    expect(ids(items)).toEqual(ids(existing));

    // A fresh walk sees the new jobs, all in front of the old ones.
    const fresh = await walk(ws, 5);
    expect(ids(fresh.items)).toEqual(ids(newestFirst([...existing, ...added])));
    expect(ids(fresh.items.slice(added.length))).toEqual(ids(existing));
  });

  it('cancelling jobs between page fetches neither duplicates nor drops any job from an unfiltered walk', async () => {
    const ws = 'cancel-walk';
    const existing = newestFirst(await submitMany(ws, 15));
    let next = 14;
    const { items } = await walk(ws, 2, undefined, async () => {
      // Cancel jobs both behind and ahead of the walk's position.
      await cancel(ws, existing[next].job_id);
      next -= 2;
    });
    expect(ids(items)).toEqual(ids(existing));
  });

  it('property: random submits, cancels and page walks always list exactly the model, newest first', async () => {
    type Between = { kind: 'submit'; n: number } | { kind: 'cancel'; pick: number };
    type Op =
      | { kind: 'submit'; n: number }
      | { kind: 'cancel'; pick: number }
      | { kind: 'walk'; limit: number; status?: 'pending' | 'cancelled' }
      | { kind: 'walkWhileChanging'; limit: number; between: Between[] };

    const submitOp = fc.record({ kind: fc.constant('submit' as const), n: fc.integer({ min: 1, max: 4 }) });
    const cancelOp = fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() });
    const op: fc.Arbitrary<Op> = fc.oneof(
      { arbitrary: submitOp, weight: 4 },
      { arbitrary: cancelOp, weight: 2 },
      {
        arbitrary: fc.record(
          { kind: fc.constant('walk' as const), limit: fc.integer({ min: 1, max: 12 }), status: fc.constantFrom('pending' as const, 'cancelled' as const) },
          { requiredKeys: ['kind', 'limit'] },
        ),
        weight: 2,
      },
      {
        arbitrary: fc.record({
          kind: fc.constant('walkWhileChanging' as const),
          limit: fc.integer({ min: 1, max: 5 }),
          between: fc.array(fc.oneof(submitOp, cancelOp), { minLength: 1, maxLength: 6 }),
        }),
        weight: 2,
      },
    );

    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
        const ws = `prop-${++run}`; // a fresh workspace per run (shrinking included): no state crosses runs
        const jobs = new Map<string, Ref & { status: 'pending' | 'cancelled' }>();
        const doSubmit = async (n: number) => {
          const newest = newestFirst(jobs.values())[0];
          if (newest) await clockPasses(newest.created_at);
          for (const j of await submit(ws, n)) jobs.set(j.job_id, { ...j, status: 'pending' });
        };
        const doCancel = async (pick: number) => {
          const pending = newestFirst([...jobs.values()].filter((j) => j.status === 'pending'));
          if (pending.length === 0) return;
          const target = pending[pick % pending.length];
          await cancel(ws, target.job_id);
          target.status = 'cancelled';
        };
        const expectPageMatchesModel = (p: Page) => {
          for (const item of p.items) {
            expect(item.workspace_id).toBe(ws);
            expect([item.job_id, item.status]).toEqual([item.job_id, jobs.get(item.job_id)?.status]);
          }
        };

        for (const o of [...ops, { kind: 'walk', limit: 3 } as Op]) {
          switch (o.kind) {
            case 'submit':
              await doSubmit(o.n);
              break;
            case 'cancel':
              await doCancel(o.pick);
              break;
            case 'walk': {
              const expected = newestFirst([...jobs.values()].filter((j) => !o.status || j.status === o.status));
              const { items } = await walk(ws, o.limit, o.status);
              expect(items.map((j) => [j.job_id, j.status])).toEqual(expected.map((j) => [j.job_id, j.status]));
              break;
            }
            case 'walkWhileChanging': {
              const atStart = ids(newestFirst(jobs.values()));
              const queue = [...o.between];
              const firstPage = await page(ws, { limit: o.limit });
              expectPageMatchesModel(firstPage);
              const seen = [...firstPage.items];
              let cursor = firstPage.next_cursor;
              while (cursor !== null) {
                const change = queue.shift();
                if (change?.kind === 'submit') await doSubmit(change.n);
                if (change?.kind === 'cancel') await doCancel(change.pick);
                const p = await page(ws, { limit: o.limit, cursor });
                expectPageMatchesModel(p);
                expect(p.items.length).toBeGreaterThan(0);
                seen.push(...p.items);
                cursor = p.next_cursor;
              }
              expect(ids(seen)).toEqual(atStart);
              break;
            }
          }
        }
      }),
      { numRuns: 25 },
    );
  });

  it('cursors are opaque base64url, and a cursor from workspace A used by workspace B lists only B\'s jobs', async () => {
    const a = 'cursor-a';
    const b = 'cursor-b';
    const aJobs: Ref[] = [];
    const bJobs: Ref[] = [];
    for (let i = 0; i < 8; i++) {
      aJobs.push(...(await submit(a)));
      bJobs.push(...(await submit(b)));
    }
    const aFirst = await page(a, { limit: 3 });
    const cursor = aFirst.next_cursor!;
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    for (const j of [...aJobs, ...bJobs]) expect(cursor).not.toContain(j.job_id);
    expect(cursor).not.toContain(a);

    const fromB = await walk(b, 100);
    expect(ids(fromB.items)).toEqual(ids(newestFirst(bJobs)));

    const res = await page(b, { limit: 100, cursor });
    expect(res.items.every((j) => j.workspace_id === b)).toBe(true);
    // A's cursor names a position only: B gets its own jobs older than that position, nothing of A's.
    const bound = position(aFirst.items.at(-1)!);
    expect(ids(res.items)).toEqual(ids(newestFirst(bJobs).filter((j) => bytewise(position(j), bound) < 0)));
    expect(res.items.length).toBeGreaterThan(0);
    expect(res.next_cursor).toBeNull();
  });

  it('a cursor stays valid across a change of read flags between pages (phase 0 -> 1 -> 2 apps on one Redis)', async () => {
    const ws = 'flags';
    const phase1 = await startApi(server.url, { RATE_LIMIT_MAX: '0', AI_JOBS_NEW_SCHEMA: 'on', PHASE_1_CANARY_PCT: '50' });
    const phase2 = await startApi(server.url, { RATE_LIMIT_MAX: '0', AI_JOBS_NEW_SCHEMA: 'on', READ_PREFERS_NEW: 'on' });
    try {
      const headers = await auth(ws);
      const jobs: Ref[] = [...(await submitMany(ws, 6)), ...(await submit(ws, 3))]; // legacy only
      for (let i = 0; i < 8; i++) {
        const res = await phase1.http.post('/ai/jobs').set(headers).send({ action: 'debug.echo', params: {} });
        expect(res.status).toBe(202);
        jobs.push({ job_id: res.body.job_id, created_at: res.body.created_at });
      }
      const model = newestFirst(jobs);
      const apps = [api, phase1, phase2];
      for (const limit of [1, 2, 5]) {
        const seen: Item[] = [];
        let cursor: string | null | undefined;
        for (let n = 0; cursor !== null; n++) {
          const res = await apps[n % apps.length].http.get('/ai/jobs').query(cursor ? { limit, cursor } : { limit }).set(headers);
          expect(res.status).toBe(200);
          seen.push(...(res.body as Page).items);
          cursor = (res.body as Page).next_cursor;
        }
        expect([limit, ids(seen)]).toEqual([limit, ids(model)]);
      }
    } finally {
      await phase1.close();
      await phase2.close();
    }
  });

  describe('expired records (the record key is gone, its index entry is left)', () => {
    const ws = 'expired';
    let live: Ref[];
    let all: Ref[];

    beforeAll(async () => {
      all = newestFirst([...(await submitMany(ws, 12)), ...(await submit(ws, 4)), ...(await submitMany(ws, 4))]);
      expect(all).toHaveLength(20);
      // A long run of expired entries (longer than a page), single ones, and the two oldest.
      const gone = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 18, 19]);
      for (const i of gone) expect(await redis.del(`ai:jobs:${all[i].job_id}`)).toBe(1);
      live = all.filter((_, i) => !gone.has(i));
      expect(live).toHaveLength(7);
      expect(await redis.zcard(`ai:index:${ws}:status:pending`)).toBe(20);
    });

    it.each([1, 2, 3, 4, 7, 50])('are skipped and do not shorten pages below limit %i while more jobs exist', async (limit) => {
      const { items, pages } = await walk(ws, limit);
      expect(ids(items)).toEqual(ids(live));
      expect(pages).toHaveLength(Math.max(1, Math.ceil(live.length / limit)));
    });

    it('are skipped with a status filter too', async () => {
      const { items } = await walk(ws, 2, 'pending');
      expect(ids(items)).toEqual(ids(live));
    });

    it('a cursor stays valid when the job it points at expires', async () => {
      const first = await page(ws, { limit: 3 });
      expect(ids(first.items)).toEqual(ids(live.slice(0, 3)));
      const pointedAt = first.items[2].job_id;
      expect(await redis.del(`ai:jobs:${pointedAt}`)).toBe(1);
      live = live.filter((j) => j.job_id !== pointedAt);
      const rest = await page(ws, { limit: 50, cursor: first.next_cursor! });
      expect(ids(rest.items)).toEqual(ids(live.slice(2)));
      expect(rest.next_cursor).toBeNull();
    });
  });
});
