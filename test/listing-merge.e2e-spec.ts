import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { WorkQueue, type AttemptOutcome, type ClaimedJob } from '@relay/queue';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * Issue 17 point 3: a job has one index entry, in the index of its status;
 * GET /ai/jobs without a status filter merges the five status indexes
 * (listJobs.lua). What the single all-jobs index gave for free must still
 * hold: newest first (created_at, then job id, as bytes), no duplicates and
 * no gaps across pages while jobs change status between them (pending →
 * running → succeeded / failed / pending again, cancelled), a member found
 * in two indexes listed once, and the order independent of the server's
 * collation. Status changes go through the worker's real scripts (WorkQueue).
 */

interface Ref {
  job_id: string;
  created_at: string;
}
interface Item extends Ref {
  status: string;
  workspace_id: string;
}
interface Page {
  items: Item[];
  next_cursor: string | null;
}
type Status = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';

const bytewise = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const position = (j: Ref) => `${j.created_at}/${j.job_id}`;
const newestFirst = <T extends Ref>(jobs: Iterable<T>): T[] => [...jobs].sort((a, b) => bytewise(position(b), position(a)));
const ids = (jobs: Ref[]) => jobs.map((j) => j.job_id);
const CLAIM = { workerId: 'merge-test', leaseMs: 60_000, maxAttempts: 5, retentionSeconds: 3600 };

describe('listing without a status filter merges the status indexes', () => {
  let server: FileRedis;
  let redis: Redis;
  let api: ApiHarness;
  let queue: WorkQueue;
  const keys = new Map<string, string>();

  const auth = async (ws: string) => {
    if (!keys.has(ws)) keys.set(ws, await api.key(ws, ['actions:execute', 'actions:preview'], 'lister'));
    return { Authorization: `Bearer ${keys.get(ws)}` };
  };

  async function submit(ws: string, n = 1): Promise<Ref[]> {
    if (n === 1) {
      const res = await api.http.post('/ai/jobs').set(await auth(ws)).send({ action: 'debug.echo', params: {} });
      expect(res.status).toBe(202);
      return [{ job_id: res.body.job_id, created_at: res.body.created_at }];
    }
    const res = await api.http.post('/ai/plans').set(await auth(ws)).send({ steps: Array.from({ length: n }, (_, i) => ({ action: 'debug.echo', params: { i } })) });
    expect(res.status).toBe(202);
    return (res.body.job_ids as string[]).map((job_id) => ({ job_id, created_at: res.body.created_at }));
  }

  async function page(ws: string, query: Record<string, string | number | undefined>): Promise<Page> {
    const qs = Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined));
    const res = await api.http.get('/ai/jobs').query(qs).set(await auth(ws));
    expect(res.status).toBe(200);
    return res.body as Page;
  }

  /** Every item of an unfiltered listing, page by page of `limit`, following next_cursor to the end. */
  async function walkAll(ws: string, limit: number): Promise<Item[]> {
    const seen: Item[] = [];
    let cursor: string | null | undefined;
    do {
      const p = await page(ws, { limit, cursor: cursor ?? undefined });
      seen.push(...p.items);
      cursor = p.next_cursor;
    } while (cursor !== null);
    return seen;
  }

  beforeAll(async () => {
    server = await fileRedis();
    redis = server.redis;
    api = await startApi(server.url, { RATE_LIMIT_MAX: '0' });
    queue = api.app.get(WorkQueue);
  });
  // Claims serve every workspace with pending jobs: each test starts from an empty Redis.
  beforeEach(async () => {
    await redis.flushdb();
    keys.clear();
  });
  afterAll(async () => {
    await api?.close();
    await server?.stop();
  });

  it('property: jobs changing status between pages (claims, finishes of every outcome, retries, cancels) never show twice or go missing', async () => {
    type Change =
      | { kind: 'submit'; n: number }
      | { kind: 'cancel'; pick: number }
      | { kind: 'claim'; n: number }
      | { kind: 'finish'; pick: number; outcome: 'succeeded' | 'failed' | 'retry' };
    const change: fc.Arbitrary<Change> = fc.oneof(
      fc.record({ kind: fc.constant('submit' as const), n: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('claim' as const), n: fc.integer({ min: 1, max: 4 }) }),
      fc.record({ kind: fc.constant('finish' as const), pick: fc.nat(), outcome: fc.constantFrom('succeeded' as const, 'failed' as const, 'retry' as const) }),
    );

    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 4, max: 14 }),
        fc.array(change, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 4 }),
        async (initial, changes, limit) => {
          await redis.flushdb();
          keys.clear();
          const ws = `merge-${++run}`;
          const status = new Map<string, Status>();
          const running = new Map<string, ClaimedJob>();
          const apply = async (c: Change) => {
            if (c.kind === 'submit') for (const j of await submit(ws, c.n)) status.set(j.job_id, 'pending');
            if (c.kind === 'cancel') {
              const pending = [...status].filter(([, s]) => s === 'pending').map(([id]) => id).sort();
              if (pending.length === 0) return;
              const id = pending[c.pick % pending.length];
              expect((await api.http.post(`/ai/jobs/${id}/cancel`).set(await auth(ws))).status).toBe(200);
              status.set(id, 'cancelled');
            }
            if (c.kind === 'claim') {
              for (const job of await queue.claim({ ...CLAIM, max: c.n })) {
                status.set(job.jobId, 'running');
                running.set(job.jobId, job);
              }
            }
            if (c.kind === 'finish') {
              const held = [...running.keys()].sort();
              if (held.length === 0) return;
              const job = running.get(held[c.pick % held.length])!;
              const outcome: AttemptOutcome =
                c.outcome === 'succeeded'
                  ? { outcome: 'succeeded', result: { ok: true } }
                  : c.outcome === 'retry'
                    ? { outcome: 'retry', error: 'again', delayMs: 0 }
                    : { outcome: 'failed', error: 'no' };
              const { result } = await queue.finish(job, outcome, 3600);
              expect(result).toBe('done');
              running.delete(job.jobId);
              status.set(job.jobId, c.outcome === 'retry' ? 'pending' : c.outcome);
            }
          };

          const created = newestFirst((await submit(ws, initial)).concat(await submit(ws)));
          for (const j of created) status.set(j.job_id, 'pending');
          // Some jobs in every status before the walk starts, so the first page already merges.
          for (const c of [{ kind: 'claim', n: 3 }, { kind: 'finish', pick: 0, outcome: 'succeeded' }, { kind: 'finish', pick: 1, outcome: 'failed' }, { kind: 'cancel', pick: 1 }] as Change[]) await apply(c);

          const atStart = ids(newestFirst([...status.keys()].map((id) => created.find((j) => j.job_id === id)!)));
          const seen: Item[] = [];
          const pending = [...changes];
          let cursor: string | null | undefined;
          do {
            const p = await page(ws, { limit, cursor: cursor ?? undefined });
            expect(p.items.length).toBeLessThanOrEqual(limit);
            if (p.next_cursor !== null) expect(p.items).toHaveLength(limit);
            // Each row shows the job's status at the moment of its page.
            for (const item of p.items) expect([item.job_id, item.status]).toEqual([item.job_id, status.get(item.job_id)]);
            seen.push(...p.items);
            cursor = p.next_cursor;
            const next = pending.shift();
            if (cursor !== null && next) await apply(next);
          } while (cursor !== null);
          expect(ids(seen)).toEqual(atStart);
        },
      ),
      { numRuns: 20 },
    );
  });

  it('a filtered walk while jobs change status lists each job at most once, and every job that kept the status throughout', async () => {
    const ws = 'filtered';
    const jobs = newestFirst([...(await submit(ws, 6)), ...(await submit(ws)), ...(await submit(ws, 5))]);
    const claimed = await queue.claim({ ...CLAIM, max: 6 });
    expect(claimed).toHaveLength(6);
    const walk = async (status: Status, between: () => Promise<void>) => {
      const seen: Item[] = [];
      let cursor: string | null | undefined;
      do {
        const p = await page(ws, { limit: 2, status, cursor: cursor ?? undefined });
        expect(p.items.every((i) => i.status === status)).toBe(true);
        seen.push(...p.items);
        cursor = p.next_cursor;
        if (cursor !== null) await between();
      } while (cursor !== null);
      expect(new Set(ids(seen)).size).toBe(seen.length);
      return ids(seen);
    };
    // Running jobs finish one by one while the running walk goes on: those still running at the end were all listed.
    const toFinish = [...claimed];
    const runningSeen = await walk('running', async () => {
      const job = toFinish.shift();
      if (job) await queue.finish(job, { outcome: 'succeeded', result: null }, 3600);
    });
    const stillRunning = toFinish.map((j) => j.jobId);
    expect(runningSeen).toEqual(expect.arrayContaining(stillRunning));
    // The pending walk while pending jobs are cancelled from the newest end.
    const pendingIds = ids(jobs).filter((id) => !claimed.some((c) => c.jobId === id));
    const toCancel = [...pendingIds];
    const pendingSeen = await walk('pending', async () => {
      const id = toCancel.shift();
      if (id) await api.http.post(`/ai/jobs/${id}/cancel`).set(await auth(ws));
    });
    expect(pendingSeen).toEqual(expect.arrayContaining(toCancel));
    // And afterwards the unfiltered list has every job once, with its final status.
    const all = await page(ws, { limit: 100 });
    expect(ids(all.items)).toEqual(ids(jobs));
  });

  it('a job whose member sits in two status indexes (a skipped write left one behind) is listed once, as its record says', async () => {
    const ws = 'stale';
    const jobs = newestFirst([...(await submit(ws, 3)), ...(await submit(ws))]);
    const [job] = await queue.claim({ ...CLAIM, max: 1 });
    await queue.finish(job, { outcome: 'succeeded', result: { n: 1 } }, 3600);
    const member = position(jobs.find((j) => j.job_id === job.jobId)!);
    // The finish moved it; put its old entries back, as a write that failed mid-way would have left them.
    await redis.zadd(`ai:index:${ws}:status:pending`, 0, member);
    await redis.zadd(`ai:index:${ws}:status:running`, 0, member);

    for (const limit of [1, 2, 100]) {
      const seen = await walkAll(ws, limit);
      expect([limit, ids(seen)]).toEqual([limit, ids(jobs)]);
      expect(seen.find((i) => i.job_id === job.jobId)?.status).toBe('succeeded');
    }
    expect(ids((await page(ws, { status: 'succeeded' })).items)).toEqual([job.jobId]);
    expect(ids((await page(ws, { status: 'pending' })).items)).not.toContain(job.jobId);
    expect(ids((await page(ws, { status: 'running' })).items)).toEqual([]);
  });

  it('a cursor keeps its place when the job it points at changes status, and one from a filtered page continues an unfiltered walk', async () => {
    const ws = 'pointed';
    const jobs = newestFirst(await submit(ws, 8));
    const first = await page(ws, { limit: 3 });
    expect(ids(first.items)).toEqual(ids(jobs.slice(0, 3)));
    // The job the cursor names is cancelled; the rest of the walk is unchanged.
    await api.http.post(`/ai/jobs/${first.items[2].job_id}/cancel`).set(await auth(ws));
    const rest = await page(ws, { limit: 100, cursor: first.next_cursor! });
    expect(ids(rest.items)).toEqual(ids(jobs.slice(3)));
    // A cursor from a filtered page continues an unfiltered walk at the same position (it names a position only).
    const cancelledPage = await page(ws, { status: 'cancelled', limit: 1 });
    expect(ids(cancelledPage.items)).toEqual([jobs[2].job_id]);
    const pendingCursor = (await page(ws, { status: 'pending', limit: 2 })).next_cursor!;
    expect(ids((await page(ws, { limit: 100, cursor: pendingCursor })).items)).toEqual(ids(jobs.slice(2)));
  });

  it('property: the merged order is the byte order of created_at and job id, whatever the ids and their statuses', async () => {
    // Ids that share long prefixes, differ at 8-byte chunk edges, differ only in case or punctuation, or are prefixes of each other.
    const idChar = fc.constantFrom(...'aAbBzZ09._-'.split(''));
    const id = fc.tuple(fc.constantFrom('', 'job-', 'Job-', 'job-aaaa', 'job-aaaaaaaa', 'job_aaaaaaaaaaaaaaaa'), fc.array(idChar, { minLength: 1, maxLength: 10 })).map(([p, cs]) => p + cs.join(''));
    const statuses: Status[] = ['pending', 'running', 'succeeded', 'failed', 'cancelled'];
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.record({ id, second: fc.integer({ min: 0, max: 2 }), status: fc.constantFrom(...statuses) }), { minLength: 1, maxLength: 25, selector: (j) => j.id }),
        fc.integer({ min: 1, max: 7 }),
        async (seeded, limit) => {
          const ws = `bytes-${++run}`;
          const jobs: Ref[] = [];
          for (const j of seeded) {
            const created = `2025-10-17T10:15:0${j.second}.000Z`;
            // A record as Relay writes one (request_hash: the legacy sweep leaves it alone), and its one index entry.
            await redis.hset(`ai:jobs:${j.id}`, { job_id: j.id, workspace_id: ws, action_provider: 'debug', action_name: 'echo', params: '{}', status: j.status, attempts: '0', created_at: created, updated_at: created, request_hash: '' });
            await redis.zadd(`ai:index:${ws}:status:${j.status}`, 0, `${created}/${j.id}`);
            jobs.push({ job_id: j.id, created_at: created });
          }
          const seen = await walkAll(ws, limit);
          expect(ids(seen)).toEqual(ids(newestFirst(jobs)));
        },
      ),
      { numRuns: 30 },
    );
  });
});
