import { loadConfig } from '@relay/config';
import {
  ActiveWorkspaces,
  DEFAULT_LIST_RESULT_MAX_BYTES,
  type JobDelay,
  LABELLED_DEPTH_WORKSPACES_MAX,
  QUEUE_ENTRIES_READ_MAX,
  QueueScripts,
  RedisJobStore,
  WorkQueue,
  readQueueDepth,
  selectStorageStrategy,
} from '@relay/queue';
import { RedisKeys } from '@relay/redis';
import { RelayMetrics, WorkspaceLabelPolicy } from '@relay/telemetry';
import { expectEventually } from './support/expect-eventually.js';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * ai_queue_depth{state, workspace_id} (issue 13, point 3; issue 14, point 5)
 * on a real Redis: jobs put in every state through the real store and the
 * worker's queue (submit, claim, finish with a retry or a failure), then one
 * depth report, read back from the gauge. Delayed jobs are submitted with
 * a delay through the store. What a claim does to the workspace queues is
 * written into Redis directly, standing for it (entries drained from
 * ai:queue:pending into ai:queue:ws:<ws>, the workspace in the rotation; a
 * due entry moved to the front of its workspace's queue), so each count is
 * known exactly. The gauge lives in prom-client's registry,
 * shared with other files of this worker thread, so each test resets it.
 */

const LEGACY_ONLY = selectStorageStrategy({ newSchema: false, canaryPct: 100, readPrefersNew: false, readFallbackOld: true, legacyWrites: true });
const CLAIM = { workerId: 'depth-test', leaseMs: 600_000, maxAttempts: 5, retentionSeconds: 3600 };

type Counts = { pending: number; running: number; delayed: number; retrying: number; dead: number };
const NONE: Counts = { pending: 0, running: 0, delayed: 0, retrying: 0, dead: 0 };

describe('ai_queue_depth per workspace', () => {
  let server: FileRedis;
  const metrics = new RelayMetrics();

  const policy = (env: Record<string, string>) => new WorkspaceLabelPolicy(loadConfig(env));
  const storeFor = (labels: WorkspaceLabelPolicy) =>
    new RedisJobStore(new QueueScripts(server.redis), LEGACY_ONLY, metrics, 3600, DEFAULT_LIST_RESULT_MAX_BYTES, labels, new ActiveWorkspaces(server.redis));
  const queueFor = (labels: WorkspaceLabelPolicy) => new WorkQueue(new QueueScripts(server.redis), server.redis, metrics, labels);

  const submit = (store: RedisJobStore, workspaceId: string, n: number, delay?: JobDelay) =>
    Promise.all(Array.from({ length: n }, () => store.create({ workspaceId, kind: 'job', jobs: [{ actorId: 'a', action: 'debug.echo', params: {}, delay }] })));
  const jobIdsOf = (outcomes: Awaited<ReturnType<typeof submit>>) => outcomes.flatMap((o) => (o.outcome === 'created' ? o.jobIds : []));

  /** Jobs due in an hour: pending, their entries in the delayed set rather than the pending list. */
  async function submitDelayed(store: RedisJobStore, workspaceId: string, n: number): Promise<string[]> {
    const ids = jobIdsOf(await submit(store, workspaceId, n, { afterMs: 3_600_000 }));
    for (const id of ids) {
      expect(await server.redis.zscore(RedisKeys.delayedQueue, `${workspaceId}:${id}`)).not.toBeNull();
      expect(await server.redis.hget(RedisKeys.legacyJob(id), 'status')).toBe('pending');
    }
    return ids;
  }

  /** What a claim's drain leaves: the workspace's entries moved, oldest first, from ai:queue:pending to its own queue, and the workspace in the rotation. */
  async function drain(workspaceId: string, rotation: 'ready' | 'capped'): Promise<number> {
    const all = await server.redis.lrange(RedisKeys.pendingQueue, 0, -1);
    const mine = all.filter((entry) => entry.startsWith(`${workspaceId}:`));
    for (const entry of mine.reverse()) {
      await server.redis.lrem(RedisKeys.pendingQueue, 1, entry);
      await server.redis.lpush(RedisKeys.workspaceQueue(workspaceId), entry);
    }
    if (rotation === 'ready') await server.redis.zadd(RedisKeys.readyWorkspaces, 1, workspaceId);
    else await server.redis.sadd(RedisKeys.cappedWorkspaces, workspaceId);
    return mine.length;
  }

  /**
   * Puts each workspace's jobs in the states asked for. The jobs to run are
   * submitted and claimed before any job is left pending, so a claim takes
   * exactly them; then some end in a retry (due in 10 minutes) or a failure
   * (a dead letter), and the pending and delayed ones are submitted last.
   */
  async function seed(store: RedisJobStore, queue: WorkQueue, plan: Record<string, Counts>): Promise<void> {
    for (const [ws, want] of Object.entries(plan)) {
      const taken = want.running + want.retrying + want.dead;
      await submit(store, ws, taken);
      const claimed = await queue.claim({ ...CLAIM, max: taken });
      expect(claimed.map((c) => c.workspaceId)).toEqual(Array(taken).fill(ws));
      for (const [i, job] of claimed.entries()) {
        if (i < want.retrying) await queue.finish(job, { outcome: 'retry', error: 'again', delayMs: 600_000 }, 3600);
        else if (i < want.retrying + want.dead) await queue.finish(job, { outcome: 'failed', error: 'no' }, 3600);
      }
    }
    for (const [ws, want] of Object.entries(plan)) {
      await submit(store, ws, want.pending);
      await submitDelayed(store, ws, want.delayed);
    }
  }

  /** The gauge's series, as { workspace_id: counts }. */
  async function depthSeries(): Promise<Record<string, Counts>> {
    const series: Record<string, Counts> = {};
    for (const { labels, value } of (await metrics.queueDepth.get()).values) {
      const ws = String(labels.workspace_id);
      series[ws] ??= { ...NONE };
      series[ws][labels.state as keyof Counts] = value;
    }
    return series;
  }

  const PLAN: Record<string, Counts> = {
    acme: { pending: 3, running: 1, delayed: 2, retrying: 2, dead: 1 },
    beta: { pending: 2, running: 2, delayed: 1, retrying: 1, dead: 2 },
  };

  beforeAll(async () => {
    server = await fileRedis();
  });
  beforeEach(async () => {
    await server.redis.flushdb();
    metrics.queueDepth.reset();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('with the default settings, one series per state, workspace_id="unscoped": the whole queue', async () => {
    const labels = policy({});
    await seed(storeFor(labels), queueFor(labels), PLAN);
    await queueFor(labels).reportDepth();
    expect(await depthSeries()).toEqual({ unscoped: { pending: 5, running: 3, delayed: 3, retrying: 3, dead: 3 } });
    expect(await server.redis.exists(RedisKeys.activeWorkspaces)).toBe(0);
  });

  it('with an allowlist, each allowlisted workspace gets its own counts and "unscoped" the rest of the queue', async () => {
    const labels = policy({ METRICS_WORKSPACE_LABEL: 'on', METRICS_WORKSPACE_ALLOWLIST: 'acme,idle' });
    await seed(storeFor(labels), queueFor(labels), PLAN);
    await queueFor(labels).reportDepth();
    expect(await depthSeries()).toEqual({
      acme: PLAN.acme,
      idle: NONE,
      unscoped: PLAN.beta,
    });
  });

  it('with every workspace labelled, the workspaces that submitted get their own counts, learnt from the store, and a workspace no longer among them leaves its series', async () => {
    const labels = policy({ METRICS_WORKSPACE_LABEL: 'on' });
    const queue = queueFor(labels);
    await seed(storeFor(labels), queue, PLAN);
    await expectEventually(async () => expect(await server.redis.zcard(RedisKeys.activeWorkspaces)).toBe(2));
    await queue.reportDepth();
    expect(await depthSeries()).toEqual({ ...PLAN, unscoped: NONE });

    // Dropped from the set of active workspaces (as the report's trim does): its jobs count under "unscoped" again.
    await server.redis.zrem(RedisKeys.activeWorkspaces, 'beta');
    await queue.reportDepth();
    expect(await depthSeries()).toEqual({ acme: PLAN.acme, unscoped: PLAN.beta });
  });

  it(`with every workspace labelled, at most the ${LABELLED_DEPTH_WORKSPACES_MAX} most recently active workspaces are labelled, the set is trimmed to them, and the sums stay the whole queue`, async () => {
    const labels = policy({ METRICS_WORKSPACE_LABEL: 'on' });
    const store = storeFor(labels);
    await submit(store, 'ws-oldest', 2);
    const first = Date.now();
    await expectEventually(() => expect(Date.now()).toBeGreaterThan(first + 1));
    const later = Array.from({ length: LABELLED_DEPTH_WORKSPACES_MAX }, (_, i) => `ws-${String(i).padStart(3, '0')}`);
    for (const ws of later) await submit(store, ws, 1);
    await expectEventually(async () => expect(await server.redis.zcard(RedisKeys.activeWorkspaces)).toBe(LABELLED_DEPTH_WORKSPACES_MAX + 1));

    await queueFor(labels).reportDepth();
    const series = await depthSeries();
    expect(Object.keys(series).sort()).toEqual([...later, 'unscoped'].sort());
    expect(series.unscoped).toEqual({ ...NONE, pending: 2 });
    expect(later.every((ws) => series[ws].pending === 1)).toBe(true);
    expect(await server.redis.zcard(RedisKeys.activeWorkspaces)).toBe(LABELLED_DEPTH_WORKSPACES_MAX);
    expect(await server.redis.zscore(RedisKeys.activeWorkspaces, 'ws-oldest')).toBeNull();
  });

  it('pending counts the workspace queues in the rotation (ready and capped), not only ai:queue:pending, for the whole queue and per workspace', async () => {
    const labels = policy({ METRICS_WORKSPACE_LABEL: 'on', METRICS_WORKSPACE_ALLOWLIST: 'acme' });
    const store = storeFor(labels);
    await seed(store, queueFor(labels), PLAN);
    await submit(store, 'gamma', 4);
    // acme's entries drained to its queue (in the rotation), beta's to its queue while at its cap; gamma's still in ai:queue:pending.
    expect(await drain('acme', 'ready')).toBe(PLAN.acme.pending);
    expect(await drain('beta', 'capped')).toBe(PLAN.beta.pending);
    expect(await server.redis.llen(RedisKeys.pendingQueue)).toBe(4);

    await queueFor(labels).reportDepth();
    expect(await depthSeries()).toEqual({ acme: PLAN.acme, unscoped: { ...PLAN.beta, pending: PLAN.beta.pending + 4 } });
    const whole = await readQueueDepth(server.redis, []);
    expect(whole.total).toEqual({ pending: 3 + 2 + 4, running: 3, delayed: 3, retrying: 3, dead: 3 });

    // A workspace whose queue emptied leaves the rotation (as a claim does): its queue no longer counts.
    await server.redis.del(RedisKeys.workspaceQueue('beta'));
    await server.redis.srem(RedisKeys.cappedWorkspaces, 'beta');
    expect((await readQueueDepth(server.redis, [])).total.pending).toBe(3 + 4);
  });

  it('a delayed job counts as delayed until its entry is moved, when due, to the front of its workspace queue; then it is pending', async () => {
    const labels = policy({ METRICS_WORKSPACE_LABEL: 'on', METRICS_WORKSPACE_ALLOWLIST: 'acme' });
    const [id] = await submitDelayed(storeFor(labels), 'acme', 1);
    await queueFor(labels).reportDepth();
    expect(await depthSeries()).toEqual({ acme: { ...NONE, delayed: 1 }, unscoped: NONE });

    // What a claim does with a due entry: out of the delayed set, onto the consuming end of the workspace's queue.
    await server.redis.zrem(RedisKeys.delayedQueue, `acme:${id}`);
    await server.redis.rpush(RedisKeys.workspaceQueue('acme'), `acme:${id}`);
    await server.redis.zadd(RedisKeys.readyWorkspaces, 1, 'acme');
    await queueFor(labels).reportDepth();
    expect(await depthSeries()).toEqual({ acme: { ...NONE, pending: 1 }, unscoped: NONE });
  });

  it(`per workspace, the delayed and retry sets are read up to ${QUEUE_ENTRIES_READ_MAX} entries by due time; a workspace's later entries count as its pending, the totals stay exact`, async () => {
    const labels = policy({ METRICS_WORKSPACE_LABEL: 'on', METRICS_WORKSPACE_ALLOWLIST: 'acme' });
    await submitDelayed(storeFor(labels), 'acme', 2);
    // Another workspace's entries, all due before acme's: acme's are past the bound.
    const soon = Date.now();
    const others: (string | number)[] = Array.from({ length: QUEUE_ENTRIES_READ_MAX }, (_, i) => [soon + i, `crowd:job-${i}`]).flat();
    await server.redis.zadd(RedisKeys.delayedQueue, ...others);

    const reading = await readQueueDepth(server.redis, ['acme']);
    expect(reading.byWorkspace.get('acme')).toEqual({ ...NONE, pending: 2 });
    expect(reading.total.delayed).toBe(QUEUE_ENTRIES_READ_MAX + 2);

    await server.redis.zremrangebyrank(RedisKeys.delayedQueue, 0, 1);
    expect((await readQueueDepth(server.redis, ['acme'])).byWorkspace.get('acme')).toEqual({ ...NONE, delayed: 2 });
  });

  it('a process notes a workspace once a minute at most, so a busy workspace costs no Redis call per submit', async () => {
    const store = storeFor(policy({ METRICS_WORKSPACE_LABEL: 'on' }));
    await submit(store, 'busy', 1);
    await expectEventually(async () => expect(await server.redis.zscore(RedisKeys.activeWorkspaces, 'busy')).not.toBeNull());
    await server.redis.del(RedisKeys.activeWorkspaces);
    await submit(store, 'busy', 5);
    // The store and this check share one connection, so a ZADD sent during those submits would be seen here.
    expect(await server.redis.exists(RedisKeys.activeWorkspaces)).toBe(0);
  });
});
