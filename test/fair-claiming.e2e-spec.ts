import { QueueScripts, type ClaimedJob, type ClaimOptions, type SchedulingArgs } from '@relay/queue';
import { RedisKeys } from '@relay/redis';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * Issue 14, points 1–3 at the level of the claim scripts (README
 * "Scheduling"): the rotation between workspaces, order within one, weights,
 * caps with their running counts, rate limits and deferrals, on a real Redis.
 * The worker processes on top of these are tested in fair-scheduling.e2e-spec.ts.
 */
const NONE: SchedulingArgs = { defaultMaxRunning: 0, overridesPublished: false, rateRules: '' };

describe('fair claiming (claim scripts)', () => {
  let r: FileRedis;
  let scripts: QueueScripts;
  let seq = 0;

  beforeAll(async () => {
    r = await fileRedis();
    scripts = new QueueScripts(r.redis);
  });
  afterAll(() => r.stop());
  beforeEach(() => r.redis.flushdb());

  /** Submits `n` jobs of one workspace in one request (one createJobs call); returns their ids in order. */
  async function submit(ws: string, n: number, action = 'debug.echo'): Promise<string[]> {
    const [provider, name] = action.split('.');
    const ids = Array.from({ length: n }, () => `j${String(++seq).padStart(6, '0')}`);
    const [reply] = await scripts.createJobs([
      { workspaceId: ws, requestHash: '', jobs: ids.map((jobId) => ({ copies: 'S' as const, jobId, actorId: 'a', provider, name, paramsJson: '{}' })) },
    ]);
    expect(reply.outcome).toBe('created');
    return ids;
  }

  const options = (max: number, scheduling: SchedulingArgs = NONE, extra: Partial<ClaimOptions> = {}): ClaimOptions => ({
    max,
    workerId: 'w1',
    leaseMs: 30_000,
    maxAttempts: 3,
    retentionSeconds: 3600,
    scheduling,
    ...extra,
  });
  const claim = async (max: number, scheduling?: SchedulingArgs, extra?: Partial<ClaimOptions>) => (await scripts.claimJobs(options(max, scheduling, extra))).claimed;
  const succeed = (jobs: ClaimedJob[], next = 0, scheduling?: SchedulingArgs) =>
    scripts.finishJobs(
      jobs.map((job) => ({ job, outcome: { outcome: 'succeeded' as const, result: null } })),
      3600,
      next > 0 ? { ...options(next, scheduling) } : undefined,
    );
  const workspaces = (jobs: ClaimedJob[]) => jobs.map((j) => j.workspaceId);
  const runningCounts = () => r.redis.hgetall(RedisKeys.runningCounts);

  it('within a workspace, jobs start in submission order, across requests and claims of any size', async () => {
    const ids = [...(await submit('acme', 7)), ...(await submit('acme', 5)), ...(await submit('acme', 9))];
    const started: string[] = [];
    for (const max of [1, 4, 2, 10, 3, 1]) started.push(...(await claim(max)).map((j) => j.jobId));
    expect(started).toEqual(ids);
    // Nothing left anywhere; the workspace leaves the rotation when a claim finds its list empty.
    expect(await r.redis.llen(RedisKeys.pendingQueue)).toBe(0);
    expect(await claim(1)).toEqual([]);
    expect(await r.redis.zcard(RedisKeys.readyWorkspaces)).toBe(0);
  });

  it('a workspace that submits behind a backlog starts in the next claim, not after the backlog', async () => {
    await submit('flood', 5000);
    const first = await claim(10);
    expect(workspaces(first)).toEqual(Array(10).fill('flood'));
    const [late] = await submit('late', 1);
    const next = await claim(2);
    // It joins at the lowest pass: served in this claim (ties with the flood's pass go by name).
    expect(next.map((j) => j.jobId)).toContain(late);
    // The flood is still served after it: nothing lost or reordered.
    const rest = await claim(20);
    expect(workspaces(rest)).toEqual(Array(20).fill('flood'));
  });

  it('a backlog still in ai:queue:pending: the late workspace starts within ceil(backlog / 10,000) claims', async () => {
    // 25,000 entries pushed by a producer straight onto the pending list, then one of another workspace.
    for (let i = 0; i < 25; i++) await submit('flood', 1000);
    const [late] = await submit('late', 1);
    expect(await r.redis.llen(RedisKeys.pendingQueue)).toBe(25_001);
    const claims: string[][] = [];
    for (let i = 0; i < 3; i++) claims.push((await claim(1)).map((j) => j.jobId));
    expect(claims.flat()).toContain(late);
    expect(await r.redis.llen(RedisKeys.pendingQueue)).toBe(0);
  });

  it('workspaces with work share slots in rotation, equally at weight 1', async () => {
    for (const ws of ['a', 'b', 'c']) await submit(ws, 100);
    const started: ClaimedJob[] = [];
    for (let i = 0; i < 30; i++) started.push(...(await claim(3)));
    const counts = Object.fromEntries(['a', 'b', 'c'].map((ws) => [ws, started.filter((j) => j.workspaceId === ws).length]));
    // Equal shares; a workspace that joined later got its one start ahead (README "Scheduling").
    for (const ws of ['a', 'b', 'c']) expect(Math.abs(counts[ws] - 30)).toBeLessThanOrEqual(1);
    // Any window of three consecutive starts holds each workspace once or so: no run of one workspace.
    const ws = workspaces(started);
    for (let i = 0; i + 6 <= ws.length; i++) expect(new Set(ws.slice(i, i + 6)).size).toBe(3);
  });

  it('slots follow weights (WORKSPACE_LIMITS weight, published by workers)', async () => {
    await r.redis.hset(RedisKeys.workspaceSchedule, { heavy: '3 0', light: '1 0' });
    await submit('heavy', 400);
    await submit('light', 400);
    await submit('plain', 400);
    const scheduling = { ...NONE, overridesPublished: true };
    const started: ClaimedJob[] = [];
    for (let i = 0; i < 50; i++) started.push(...(await claim(10, scheduling)));
    const share = (w: string) => started.filter((j) => j.workspaceId === w).length;
    // 500 starts in 3 : 1 : 1 (plain has no entry: weight 1).
    expect(share('heavy')).toBeGreaterThanOrEqual(295);
    expect(share('heavy')).toBeLessThanOrEqual(305);
    expect(Math.abs(share('light') - share('plain'))).toBeLessThanOrEqual(2);
    expect(share('heavy') + share('light') + share('plain')).toBe(500);
  });

  it('max_running caps a workspace across claims; running counts follow leases; a finish frees a slot', async () => {
    await r.redis.hset(RedisKeys.workspaceSchedule, { small: '1 1' });
    const capped = { defaultMaxRunning: 2, overridesPublished: true, rateRules: '' };
    await submit('big', 10);
    await submit('small', 10);
    await submit('other', 1);
    // Two "workers" claim in turn: big may run 2, small 1, other (default) 2.
    const w1 = await claim(10, capped);
    const w2 = await claim(10, capped, { workerId: 'w2' });
    const all = [...w1, ...w2];
    expect(all.filter((j) => j.workspaceId === 'big')).toHaveLength(2);
    expect(all.filter((j) => j.workspaceId === 'small')).toHaveLength(1);
    expect(all.filter((j) => j.workspaceId === 'other')).toHaveLength(1);
    expect(await runningCounts()).toEqual({ big: '2', small: '1', other: '1' });
    expect((await r.redis.smembers(RedisKeys.cappedWorkspaces)).sort()).toEqual(['big', 'small']);
    const held = await scripts.claimJobs(options(5, capped));
    expect(held.claimed).toEqual([]);
    // Finishing one of big's jobs frees one slot of big, claimed in the same call.
    const bigJob = all.find((j) => j.workspaceId === 'big')!;
    const { claimed } = await succeed([bigJob], 5, capped);
    expect(workspaces(claimed)).toEqual(['big']);
    expect(await runningCounts()).toEqual({ big: '2', small: '1', other: '1' });
    const leases = await r.redis.zrange(RedisKeys.leases, '0', '-1');
    expect(leases.filter((l) => l.startsWith('big:'))).toHaveLength(2);
  });

  it('a worker that dies: recovery requeues its jobs at the front of their workspace and repairs the running counts', async () => {
    const capped = { defaultMaxRunning: 1, overridesPublished: false, rateRules: '' };
    const ids = await submit('acme', 3);
    const [dying] = await claim(5, capped, { leaseMs: 50 });
    expect(dying.jobId).toBe(ids[0]);
    expect(await runningCounts()).toEqual({ acme: '1' });
    // A count a crashed process left wrong (no lease behind it) is recounted too.
    await r.redis.hset(RedisKeys.runningCounts, 'ghost', '7');
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(await scripts.recoverStalled(1000, 3600)).toEqual({ expired: 1, stalled: 0, cancelled: 0 });
    expect(await runningCounts()).toEqual({});
    // Re-delivered first, before the workspace's later jobs, and the cap admits it again.
    const again = await claim(5, capped);
    expect(again.map((j) => j.jobId)).toEqual([ids[0]]);
    expect(again[0].attempts).toBe(2);
  });

  it('release on shutdown puts a job back at the front of its workspace and lowers its count', async () => {
    const ids = await submit('acme', 4);
    const two = await claim(2);
    expect(await scripts.releaseJobs(two, 3600)).toEqual({ released: 2, cancelled: 0 });
    expect(await runningCounts()).toEqual({});
    expect((await claim(4)).map((j) => j.jobId)).toEqual(ids);
  });

  it('a blocking wait\'s entry goes through the rotation too (its workspace capped: it waits its turn)', async () => {
    const capped = { defaultMaxRunning: 1, overridesPublished: false, rateRules: '' };
    const [first] = await submit('acme', 1);
    expect((await claim(1, capped)).map((j) => j.jobId)).toEqual([first]);
    const [second] = await submit('acme', 1);
    const entry = await r.redis.blmove(RedisKeys.pendingQueue, RedisKeys.activeQueue, 'RIGHT', 'LEFT', 1);
    expect(entry).toBe(`acme:${second}`);
    expect(await claim(1, capped, { blockedEntry: entry! })).toEqual([]);
    expect(await r.redis.llen(RedisKeys.activeQueue)).toBe(0);
    expect(await r.redis.lrange(RedisKeys.workspaceQueue('acme'), 0, -1)).toEqual([`acme:${second}`]);
  });

  it('ACTION_RATE_LIMITS: over the limit a job waits in the delayed set without an attempt; the window then admits more', async () => {
    const limited = { ...NONE, rateRules: 'debug.echo 3 400;debug.* 100 60000' };
    const ids = await submit('acme', 8);
    const other = await submit('beta', 2);
    const reply = await scripts.claimJobs(options(20, limited));
    const acme = reply.claimed.filter((j) => j.workspaceId === 'acme');
    expect(acme.map((j) => j.jobId)).toEqual(ids.slice(0, 3));
    // Per workspace: beta has its own window.
    expect(reply.claimed.filter((j) => j.workspaceId === 'beta').map((j) => j.jobId)).toEqual(other);
    expect(reply.heldBack).toEqual([{ reason: 'rate_limit', workspaceId: 'acme', times: 5 }]);
    const delayed = await r.redis.zrange(RedisKeys.delayedQueue, '0', '-1', 'WITHSCORES');
    expect(delayed.filter((_, i) => i % 2 === 0).sort()).toEqual(ids.slice(3).map((id) => `acme:${id}`).sort());
    for (const id of ids.slice(3)) expect(await r.redis.hget(RedisKeys.scopedJob('acme', id), 'attempts')).toBe('0');
    // Due when the window's oldest start leaves it: retryDueIn says so.
    const due = await scripts.retryDueIn();
    expect(due).toBeGreaterThan(300);
    expect(due).toBeLessThanOrEqual(400);
    expect(await claim(20, limited)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, due! + 20));
    const next = await claim(20, limited);
    expect(next.map((j) => j.jobId)).toEqual(ids.slice(3, 6));
    expect(next.every((j) => j.attempts === 1)).toBe(true);
  });

  it('an action\'s "retry after N ms": deferred without using an attempt, counted, back in line when due', async () => {
    const [id] = await submit('acme', 1);
    const [job] = await claim(1);
    const { results, heldBack } = await scripts.finishJobs([{ job, outcome: { outcome: 'defer', error: 'rate limited by the provider', delayMs: 150 } }], 3600);
    expect(results).toEqual(['done']);
    expect(heldBack).toEqual([{ reason: 'retry_after', workspaceId: 'acme', times: 1 }]);
    const record = await r.redis.hgetall(RedisKeys.scopedJob('acme', id));
    expect({ status: record.status, attempts: record.attempts, deferrals: record.deferrals }).toEqual({ status: 'pending', attempts: '0', deferrals: '1' });
    expect(await runningCounts()).toEqual({});
    expect(await claim(1)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 170));
    const [again] = await claim(1);
    expect({ id: again.jobId, attempts: again.attempts, deferrals: again.deferrals }).toEqual({ id, attempts: 1, deferrals: 1 });
  });

  it('a run of cancelled entries longer than a claim\'s budget: the claim says more may be waiting, and a later one finds the job', async () => {
    const cancelled = await submit('acme', 300);
    const [real] = await submit('acme', 1);
    for (const id of cancelled) expect((await scripts.cancelJob('acme', id, 3600, 'scoped-then-legacy')).outcome).toBe('cancelled');
    // Budget of a claim of 1: 1 × 4 + 100 entries.
    const first = await scripts.claimJobs(options(1));
    expect({ claimed: first.claimed, moreWaiting: first.moreWaiting }).toEqual({ claimed: [], moreWaiting: true });
    const rounds = [first];
    while (rounds.at(-1)!.claimed.length === 0 && rounds.length < 10) rounds.push(await scripts.claimJobs(options(1)));
    expect(rounds.at(-1)!.claimed.map((j) => j.jobId)).toEqual([real]);
    expect(rounds).toHaveLength(3);
    // Nothing left: no claim says more is waiting.
    expect((await scripts.claimJobs(options(1))).moreWaiting).toBe(false);
  });

  it('due retries and delayed jobs go to the front of their workspace, ahead of its later jobs', async () => {
    const [early] = await submit('acme', 1);
    const [job] = await claim(1);
    await scripts.finishJobs([{ job, outcome: { outcome: 'retry', error: 'x', delayMs: 0 } }], 3600);
    const later = await submit('acme', 3);
    const started = await claim(4);
    expect(started.map((j) => j.jobId)).toEqual([early, ...later]);
  });
});
