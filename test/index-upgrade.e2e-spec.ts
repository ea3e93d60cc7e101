import type { Redis } from 'ioredis';
import { encodeCursor, WorkQueue } from '@relay/queue';
import { startApi, type ApiHarness } from './support/api-harness.js';
import { expectEventually } from './support/expect-eventually.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * README "Upgrading: the job indexes". The release before issue 17 wrote
 * every job into an all-jobs index (`ai:index:<ws>`) as well as its status
 * index, and a retention entry (`ai:queue:retention`) for every finished
 * job. This release reads neither for listing and writes neither for its own
 * jobs; the upgrade needs no step: what the earlier release left is listed
 * as before, its retention entries drain as they fall due, and the sweep
 * drops its all-jobs index entries as their records go (the key with the
 * last one). Shown on data written exactly as the earlier release wrote it.
 */
const WS = 'acme';
const T = Date.parse('2025-10-17T10:00:00.000Z');
const CLAIM = { workerId: 'upgrade-test', leaseMs: 60_000, maxAttempts: 3, retentionSeconds: 3600 };

interface OldJob {
  id: string;
  status: 'pending' | 'succeeded' | 'failed' | 'cancelled';
  second: number;
  /** The record expired already (finished jobs only). */
  gone?: boolean;
}

describe('upgrading from the release with the all-jobs index and per-job retention entries', () => {
  let server: FileRedis;
  let redis: Redis;
  let api: ApiHarness;
  let queue: WorkQueue;
  let auth: Record<string, string>;

  const createdAt = (j: OldJob) => new Date(T + j.second * 1000).toISOString();
  const member = (j: OldJob) => `${createdAt(j)}/${j.id}`;
  const allJobs = () => redis.zrange(`ai:index:${WS}`, '0', '-1');
  const list = async (query: Record<string, string | number> = {}) => {
    const res = await api.http.get('/ai/jobs').query({ limit: 100, ...query }).set(auth);
    expect(res.status).toBe(200);
    return res.body as { items: { job_id: string; status: string }[]; next_cursor: string | null };
  };
  const listed = async (query: Record<string, string | number> = {}) => (await list(query)).items.map((i) => i.job_id);

  /** What the earlier release wrote for a job: record (legacy schema, phase 0), both index entries, queue entry or retention entry. */
  async function writeAsEarlierRelease(j: OldJob): Promise<void> {
    const at = createdAt(j);
    const finished = j.status !== 'pending';
    if (!j.gone) {
      await redis.hset(`ai:jobs:${j.id}`, {
        job_id: j.id, workspace_id: WS, actor_id: 'agent', action_provider: 'debug', action_name: 'echo', params: '{}', status: j.status,
        attempts: finished ? '1' : '0', result: j.status === 'succeeded' ? '{"ok":true}' : '', error: j.status === 'failed' ? 'no' : '',
        client_request_id: '', created_at: at, updated_at: at, started_at: finished ? at : '', finished_at: finished ? at : '', request_hash: '',
      });
      if (finished) await redis.expire(`ai:jobs:${j.id}`, 600);
    }
    await redis.zadd(`ai:index:${WS}`, 0, member(j));
    await redis.zadd(`ai:index:${WS}:status:${j.status}`, 0, member(j));
    if (j.status === 'pending') await redis.lpush('ai:queue:pending', `${WS}:${j.id}`);
    if (j.status === 'failed') await redis.lpush('ai:queue:dead', `${WS}:${j.id}`);
    // Its retention entry: due when the record expires (past for one already gone).
    if (finished) await redis.zadd('ai:queue:retention', j.gone ? Date.now() - 1000 : Date.now() + 600_000, `${WS}|${j.status}|${member(j)}`);
  }

  const p1: OldJob = { id: 'old-p1', status: 'pending', second: 1 };
  const s1: OldJob = { id: 'old-s1', status: 'succeeded', second: 2 };
  const s2: OldJob = { id: 'old-s2', status: 'succeeded', second: 3, gone: true };
  const f1: OldJob = { id: 'old-f1', status: 'failed', second: 4, gone: true };
  const p2: OldJob = { id: 'old-p2', status: 'pending', second: 5 };
  const c1: OldJob = { id: 'old-c1', status: 'cancelled', second: 6 };

  beforeAll(async () => {
    server = await fileRedis();
    redis = server.redis;
    for (const j of [p1, s1, s2, f1, p2, c1]) await writeAsEarlierRelease(j);
    api = await startApi(server.url, { RATE_LIMIT_MAX: '0' });
    queue = api.app.get(WorkQueue);
    auth = { Authorization: `Bearer ${await api.key(WS)}` };
  });
  afterAll(async () => {
    await api?.close();
    await server?.stop();
  });

  it('lists what the earlier release wrote exactly as it did: every page, every filter, and its cursors', async () => {
    expect(await listed()).toEqual([c1.id, p2.id, s1.id, p1.id]);
    for (const limit of [1, 3]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await list({ limit, ...(cursor ? { cursor } : {}) });
        seen.push(...page.items.map((i) => i.job_id));
        cursor = page.next_cursor;
      } while (cursor);
      expect([limit, seen]).toEqual([limit, [c1.id, p2.id, s1.id, p1.id]]);
    }
    expect(await listed({ status: 'pending' })).toEqual([p2.id, p1.id]);
    expect(await listed({ status: 'succeeded' })).toEqual([s1.id]);
    expect(await listed({ status: 'failed' })).toEqual([]);
    // A cursor the earlier release handed out (the same encoding of the same member) goes on where it was.
    expect(await listed({ cursor: encodeCursor(member(c1)) })).toEqual([p2.id, s1.id, p1.id]);
  });

  it('drains its retention entries as they fall due (index entries and dead letter), and drops its all-jobs index entries as their records go, the key with the last', async () => {
    // The recovery pass: the retention entries due now go, with their entries in both indexes and the dead letter.
    expect((await queue.recover(1, 3600))?.dropped).toBe(2);
    expect(await allJobs()).toEqual([p1, s1, p2, c1].map(member));
    expect(await redis.zrange(`ai:index:${WS}:status:failed`, '0', '-1')).toEqual([]);
    expect(await redis.lrange('ai:queue:dead', 0, -1)).toEqual([]);
    expect(await redis.zcard('ai:queue:retention')).toBe(2);

    // This release runs a job the earlier one queued: no retention entry, its workspace in the sweep's registry.
    const [job] = await queue.claim({ ...CLAIM, max: 1 });
    expect(job.jobId).toBe(p1.id);
    await queue.finish(job, { outcome: 'succeeded', result: null }, 3600);
    expect(await redis.zcard('ai:queue:retention')).toBe(2);
    expect(await redis.zrange('ai:queue:expiring-workspaces', '0', '-1')).toEqual([WS]);
    // A job submitted now gets its status index entry only.
    const fresh = await api.http.post('/ai/jobs').set(auth).send({ action: 'debug.echo', params: {} });
    expect(fresh.status).toBe(202);
    expect(await redis.zscore(`ai:index:${WS}`, `${fresh.body.created_at}/${fresh.body.job_id}`)).toBeNull();
    expect(await listed()).toEqual([fresh.body.job_id, c1.id, p2.id, s1.id, p1.id]);

    // Records expire: the sweep takes their entries out of the status index and the all-jobs index alike.
    for (const j of [p1, s1]) await redis.pexpire(`ai:jobs:${j.id}`, 1);
    await expectEventually(async () => expect(await redis.exists(`ai:jobs:${p1.id}`, `ai:jobs:${s1.id}`)).toBe(0), 2000);
    await queue.recover(1, 3600);
    expect(await allJobs()).toEqual([p2, c1].map(member));
    expect(await redis.zrange(`ai:index:${WS}:status:succeeded`, '0', '-1')).toEqual([]);

    // The last of them: once p2 has run and expired and c1 has expired, the all-jobs index is gone.
    const [last] = await queue.claim({ ...CLAIM, max: 1 });
    expect(last.jobId).toBe(p2.id);
    await queue.finish(last, { outcome: 'failed', error: 'no' }, 3600);
    for (const j of [p2, c1]) await redis.pexpire(`ai:jobs:${j.id}`, 1);
    await expectEventually(async () => expect(await redis.exists(`ai:jobs:${p2.id}`, `ai:jobs:${c1.id}`)).toBe(0), 2000);
    await queue.recover(1, 3600);
    expect(await redis.exists(`ai:index:${WS}`)).toBe(0);
    expect(await listed()).toEqual([fresh.body.job_id]);
    expect(await redis.lrange('ai:queue:dead', 0, -1)).toEqual([]);

    // Its remaining retention entries (s1, c1) name entries already gone; when due, they drain and the set is gone too.
    const remaining = await redis.zrange('ai:queue:retention', '0', '-1');
    expect(remaining.sort()).toEqual([`${WS}|cancelled|${member(c1)}`, `${WS}|succeeded|${member(s1)}`]);
    for (const item of remaining) await redis.zadd('ai:queue:retention', Date.now() - 1, item);
    await queue.recover(1, 3600);
    expect(await redis.exists('ai:queue:retention')).toBe(0);
  });
});
