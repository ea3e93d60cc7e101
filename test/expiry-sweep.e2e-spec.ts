import type { Redis } from 'ioredis';
import { QueueScripts, RedisJobStore, selectStorageStrategy, WorkQueue, type ClaimedJob } from '@relay/queue';
import { loadConfig } from '@relay/config';
import { RelayMetrics } from '@relay/telemetry';
import { expectEventually } from './support/expect-eventually.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * Issue 17 point 3: a finished job stores nothing for its expiry beyond its
 * record's TTL. The expiry sweep (sweepFinishedIndexes.lua, run by the
 * recovery pass) walks the finished-status indexes of the workspaces in its
 * registry and drops the entries whose record is gone; a finish puts its
 * workspace in the registry. Shown on the scripts themselves, with records
 * expired by Redis (PEXPIRE) or seeded as an index entry with no record.
 */
const REGISTRY = 'ai:queue:expiring-workspaces';
const STATE = 'ai:queue:expiry-sweep';
const CLAIM = { workerId: 'sweep-test', leaseMs: 60_000, maxAttempts: 3, retentionSeconds: 3600 };
const SCOPED = { newSchema: true, canaryPct: 100, readPrefersNew: true, readFallbackOld: false, legacyWrites: false };
const LEGACY = { newSchema: false, canaryPct: 100, readPrefersNew: false, readFallbackOld: true, legacyWrites: true };

describe('the expiry sweep drops finished jobs\' index entries once their records are gone', () => {
  let server: FileRedis;
  let redis: Redis;
  let scripts: QueueScripts;
  let queue: WorkQueue;

  const index = (ws: string, status: string) => redis.zrange(`ai:index:${ws}:status:${status}`, '0', '-1');
  const idsIn = async (ws: string, status: string) => (await index(ws, status)).map((m) => m.slice(25)).sort();
  const storeFor = (flags: typeof SCOPED) => new RedisJobStore(scripts, selectStorageStrategy(flags), new RelayMetrics(), 3600);
  async function create(store: RedisJobStore, ws: string, n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const outcome = await store.create({ workspaceId: ws, kind: 'job', jobs: [{ actorId: 'a', action: 'debug.echo', params: { i } }] });
      if (outcome.outcome !== 'created') throw new Error(outcome.outcome);
      ids.push(...outcome.jobIds);
    }
    return ids;
  }
  /** Expires the job's record now (Redis's own expiry, as the retention window would), and waits until it is gone. */
  async function expireNow(key: string): Promise<void> {
    expect(await redis.pexpire(key, 1)).toBe(1);
    await expectEventually(async () => expect(await redis.exists(key)).toBe(0), 2000);
  }
  /** Seeds a finished-status index entry of a job created at `createdAt`, its record present (`live`) or not, the workspace registered. */
  async function seed(ws: string, id: string, status: string, createdAt: string, live: boolean): Promise<void> {
    await redis.zadd(`ai:index:${ws}:status:${status}`, 0, `${createdAt}/${id}`);
    await redis.zadd(REGISTRY, 0, ws);
    if (live) await redis.hset(`ai:job:${ws}:${id}`, { job_id: id, workspace_id: ws, status, created_at: createdAt });
  }

  beforeAll(async () => {
    server = await fileRedis();
    redis = server.redis;
    scripts = new QueueScripts(redis);
    queue = new WorkQueue(scripts, redis);
  });
  beforeEach(async () => {
    await redis.flushdb();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('succeeded, failed (and its dead letter) and cancelled entries go once their records expire; pending and running ones, and live finished ones, stay', async () => {
    const store = storeFor(SCOPED);
    const [a, b, c, d, e, f] = await create(store, 'acme', 6);
    const claimed = await queue.claim({ ...CLAIM, max: 4 });
    expect(claimed.map((j) => j.jobId)).toEqual([a, b, c, d]);
    const job = (id: string) => claimed.find((j) => j.jobId === id)!;
    await queue.finishMany(
      [
        { job: job(a), outcome: { outcome: 'succeeded', result: { ok: 1 } } },
        { job: job(b), outcome: { outcome: 'failed', error: 'no' } },
        { job: job(d), outcome: { outcome: 'succeeded', result: { ok: 2 } } },
      ],
      3600,
    );
    expect((await store.cancel('acme', e)).outcome).toBe('cancelled');
    // A finish registers its workspace (once); no entry per job is written for the expiry.
    expect(await redis.zrange(REGISTRY, '0', '-1')).toEqual(['acme']);
    expect(await redis.exists('ai:queue:retention')).toBe(0);
    expect(await redis.lrange('ai:queue:dead', 0, -1)).toEqual([`acme:${b}`]);

    // Nothing has expired: a whole cycle reads the finished entries and drops none.
    expect(await scripts.sweepFinishedIndexes(0, 1000)).toEqual({ read: 4, dropped: 0, cycleDone: true });

    for (const id of [a, b, e]) await expireNow(`ai:job:acme:${id}`);
    expect(await scripts.sweepFinishedIndexes(0, 1000)).toEqual({ read: 4, dropped: 3, cycleDone: true });
    expect(await idsIn('acme', 'succeeded')).toEqual([d]);
    expect(await idsIn('acme', 'failed')).toEqual([]);
    expect(await idsIn('acme', 'cancelled')).toEqual([]);
    expect(await redis.lrange('ai:queue:dead', 0, -1)).toEqual([]);
    expect(await idsIn('acme', 'running')).toEqual([c]);
    expect(await idsIn('acme', 'pending')).toEqual([f]);
    expect(await redis.exists(STATE)).toBe(0);

    // Once its finished indexes are empty the workspace leaves the registry; its next finish puts it back.
    await expireNow(`ai:job:acme:${d}`);
    expect(await scripts.sweepFinishedIndexes(0, 1000)).toEqual({ read: 1, dropped: 1, cycleDone: true });
    expect(await redis.zrange(REGISTRY, '0', '-1')).toEqual([]);
    await queue.finish(job(c), { outcome: 'succeeded', result: null }, 3600);
    expect(await redis.zrange(REGISTRY, '0', '-1')).toEqual(['acme']);
  });

  it('a job given up by a claim (its attempts spent) registers its workspace too, and its entry and dead letter go with its record', async () => {
    const store = storeFor(SCOPED);
    const [id] = await create(store, 'acme', 1);
    await redis.hset(`ai:job:acme:${id}`, 'attempts', '3');
    expect(await queue.claim({ ...CLAIM, max: 1 })).toEqual([]);
    expect(await idsIn('acme', 'failed')).toEqual([id]);
    expect(await redis.zrange(REGISTRY, '0', '-1')).toEqual(['acme']);
    await expireNow(`ai:job:acme:${id}`);
    expect(await scripts.sweepFinishedIndexes(0, 1000)).toMatchObject({ dropped: 1, cycleDone: true });
    expect(await idsIn('acme', 'failed')).toEqual([]);
    expect(await redis.lrange('ai:queue:dead', 0, -1)).toEqual([]);
  });

  it('a running job ended cancelled (its cancel requested) by its finish, a release or the recovery pass registers its workspace; no retention entry', async () => {
    const store = storeFor(SCOPED);
    const [byFinish, byRelease, byRecovery] = await create(store, 'acme', 3);
    const held = await queue.claim({ ...CLAIM, max: 2 });
    const [lapsing] = await queue.claim({ ...CLAIM, leaseMs: 1, max: 1 });
    expect([...held, lapsing].map((j) => j.jobId)).toEqual([byFinish, byRelease, byRecovery]);
    for (const id of [byFinish, byRelease, byRecovery]) expect((await store.cancel('acme', id)).outcome).toBe('requested');
    expect(await redis.exists(REGISTRY)).toBe(0);

    await queue.finishMany([{ job: held[0], outcome: { outcome: 'cancelled' } }], 3600);
    expect(await queue.release([held[1]], 3600)).toEqual({ released: 0, cancelled: 1 });
    await expectEventually(async () => expect(await queue.recover(1, 3600)).toMatchObject({ cancelled: 1 }), 2000);
    expect(await idsIn('acme', 'cancelled')).toEqual([byFinish, byRelease, byRecovery].sort());
    expect(await redis.zrange(REGISTRY, '0', '-1')).toEqual(['acme']);
    expect(await redis.exists('ai:queue:retention')).toBe(0);

    for (const id of [byFinish, byRelease, byRecovery]) await expireNow(`ai:job:acme:${id}`);
    expect(await scripts.sweepFinishedIndexes(0, 1000)).toEqual({ read: 3, dropped: 3, cycleDone: true });
    expect(await index('acme', 'cancelled')).toEqual([]);
    expect(await redis.exists(REGISTRY)).toBe(0);
  });

  it("the sweep trims each workspace it finishes of events past the retention window (the events' age limit); a workspace it does not visit keeps its stream", async () => {
    const short = new QueueScripts(redis, undefined, loadConfig({ JOB_RETENTION_SECONDS: '2' }));
    const old = Date.now() - 60_000;
    for (const ws of ['acme', 'beta']) {
      await redis.xadd(`ai:events:${ws}`, `${old}-0`, 'type', 'succeeded');
      await redis.xadd(`ai:events:${ws}`, '*', 'type', 'created');
    }
    await seed('acme', 'gone', 'succeeded', '2020-01-01T00:00:00.000Z', false);
    expect(await short.sweepFinishedIndexes(2, 1000)).toEqual({ read: 1, dropped: 1, cycleDone: true });
    expect((await redis.xrange('ai:events:acme', '-', '+')).map(([, f]) => f[1])).toEqual(['created']);
    expect(await redis.xlen('ai:events:beta')).toBe(2);
    expect(await redis.exists(REGISTRY)).toBe(0);
  });

  it('a legacy copy keeps the entry alive only when it is of the same workspace', async () => {
    const [mine, theirs] = await create(storeFor(LEGACY), 'acme', 2);
    const claimed: ClaimedJob[] = await queue.claim({ ...CLAIM, max: 2 });
    await queue.finishMany(claimed.map((job) => ({ job, outcome: { outcome: 'succeeded' as const, result: null } })), 3600);
    // The second record now belongs to another workspace (as a reused id of the predecessor's would).
    await redis.hset(`ai:jobs:${theirs}`, 'workspace_id', 'globex');
    expect(await scripts.sweepFinishedIndexes(0, 1000)).toEqual({ read: 2, dropped: 1, cycleDone: true });
    expect(await idsIn('acme', 'succeeded')).toEqual([mine]);
  });

  it('reads only entries of jobs created more than the retention window ago: a record cannot have expired sooner', async () => {
    const store = storeFor(SCOPED);
    const [fresh] = await create(store, 'acme', 1);
    const [job] = await queue.claim({ ...CLAIM, max: 1 });
    await queue.finish(job, { outcome: 'succeeded', result: null }, 3600);
    // Created a moment ago: with a one-hour window, not even read, whatever its record.
    await redis.del(`ai:job:acme:${fresh}`);
    expect(await scripts.sweepFinishedIndexes(3600, 1000)).toEqual({ read: 0, dropped: 0, cycleDone: true });
    expect(await idsIn('acme', 'succeeded')).toEqual([fresh]);
    // Created long ago and still alive (it ran late): read every cycle, kept; one that expired is dropped.
    await seed('acme', 'ran-late', 'succeeded', '2020-01-01T00:00:00.000Z', true);
    await seed('acme', 'expired-long-ago', 'succeeded', '2020-01-01T00:00:01.000Z', false);
    expect(await scripts.sweepFinishedIndexes(3600, 1000)).toEqual({ read: 2, dropped: 1, cycleDone: true });
    expect(await scripts.sweepFinishedIndexes(3600, 1000)).toEqual({ read: 1, dropped: 0, cycleDone: true });
    expect(await idsIn('acme', 'succeeded')).toEqual([fresh, 'ran-late'].sort());
    // With no window (0) every entry is read.
    expect(await scripts.sweepFinishedIndexes(0, 1000)).toEqual({ read: 2, dropped: 1, cycleDone: true });
  });

  it('goes on from where the last step stopped: each step reads at most its budget, a cycle drops every expired entry of every workspace', async () => {
    const live = new Set<string>();
    for (const ws of ['alpha', 'beta', 'gamma']) {
      for (let i = 0; i < 7; i++) {
        const id = `${ws}-${i}`;
        const isLive = i % 3 === 0 && ws !== 'gamma';
        await seed(ws, id, ['succeeded', 'failed', 'cancelled'][i % 3], `2020-01-01T00:00:0${i}.000Z`, isLive);
        if (isLive) live.add(id);
      }
    }
    let steps = 0;
    let read = 0;
    let dropped = 0;
    for (;;) {
      const step = await scripts.sweepFinishedIndexes(3600, 2);
      steps++;
      expect(step.read).toBeLessThanOrEqual(2);
      read += step.read;
      dropped += step.dropped;
      if (step.cycleDone) break;
      expect(await redis.exists(STATE)).toBe(1);
      expect(steps).toBeLessThan(100);
    }
    expect({ read, dropped }).toEqual({ read: 21, dropped: 21 - live.size });
    expect(steps).toBeGreaterThan(10);
    for (const ws of ['alpha', 'beta', 'gamma']) {
      const left = [...(await index(ws, 'succeeded')), ...(await index(ws, 'failed')), ...(await index(ws, 'cancelled'))].map((m) => m.slice(25)).sort();
      expect({ ws, left }).toEqual({ ws, left: [...live].filter((id) => id.startsWith(`${ws}-`)).sort() });
    }
    // gamma had nothing alive: out of the registry; the others stay for their live jobs.
    expect(await redis.zrange(REGISTRY, '0', '-1')).toEqual(['alpha', 'beta']);
    expect(await redis.exists(STATE)).toBe(0);
  });

  it('an index of another type is passed over; the rest of the workspace and the other workspaces are swept', async () => {
    await seed('broken', 'b1', 'failed', '2020-01-01T00:00:00.000Z', false);
    await redis.set('ai:index:broken:status:succeeded', 'not a sorted set');
    await seed('fine', 'f1', 'cancelled', '2020-01-01T00:00:00.000Z', false);
    expect(await scripts.sweepFinishedIndexes(0, 1000)).toEqual({ read: 2, dropped: 2, cycleDone: true });
    expect(await redis.get('ai:index:broken:status:succeeded')).toBe('not a sorted set');
    // Not empty (the broken key is still there): broken stays registered, fine leaves.
    expect(await redis.zrange(REGISTRY, '0', '-1')).toEqual(['broken']);
  });

  it("the recovery pass runs the sweep after the retention set, and counts what both dropped", async () => {
    await seed('acme', 'gone-1', 'succeeded', '2020-01-01T00:00:00.000Z', false);
    await seed('acme', 'gone-2', 'cancelled', '2020-01-01T00:00:00.000Z', false);
    // A predecessor record indexed with a TTL has a retention entry instead (due now).
    await redis.zadd('ai:index:acme:status:failed', 0, '2020-01-01T00:00:00.000Z/pre-1');
    await redis.zadd('ai:queue:retention', Date.now() - 1000, 'acme|failed|2020-01-01T00:00:00.000Z/pre-1');
    expect(await queue.recover(1, 3600)).toEqual({ expired: 0, stalled: 0, cancelled: 0, dropped: 3 });
    for (const status of ['succeeded', 'failed', 'cancelled']) expect(await index('acme', status)).toEqual([]);
    expect(await redis.exists('ai:queue:retention', REGISTRY)).toBe(0);
  });
});
