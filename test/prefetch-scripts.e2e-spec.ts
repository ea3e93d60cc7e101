import { QueueScripts, type ClaimedJob, type ClaimOptions, type SchedulingArgs } from '@relay/queue';
import { RedisKeys } from '@relay/redis';
import { fileRedis, type FileRedis } from './support/redis.js';

/**
 * Issue 17, point 2 at the level of the claim and finish scripts (README
 * Worker, "Prefetch"): a prefetched job is leased but not started; its start
 * is written by a later finish call, alone or with its outcome; a job
 * cancelled while prefetched is never started. The worker on top of these is
 * tested in prefetch.e2e-spec.ts.
 */
const CAPPED: SchedulingArgs = { defaultMaxRunning: 2, overridesPublished: false, rateRules: '' };
const NONE: SchedulingArgs = { defaultMaxRunning: 0, overridesPublished: false, rateRules: '' };

describe('prefetch (claim and finish scripts)', () => {
  let r: FileRedis;
  let scripts: QueueScripts;
  let seq = 0;
  const WS = 'acme';

  beforeAll(async () => {
    r = await fileRedis();
    scripts = new QueueScripts(r.redis);
  });
  afterAll(() => r.stop());
  beforeEach(() => r.redis.flushdb());

  async function submit(n: number): Promise<string[]> {
    const ids = Array.from({ length: n }, () => `p${String(++seq).padStart(6, '0')}`);
    const [reply] = await scripts.createJobs([
      { workspaceId: WS, requestHash: '', jobs: ids.map((jobId) => ({ copies: 'S' as const, jobId, actorId: 'a', provider: 'debug', name: 'echo', paramsJson: '{}' })) },
    ]);
    expect(reply.outcome).toBe('created');
    return ids;
  }
  const options = (startNow: number, prefetch: number, scheduling: SchedulingArgs = NONE): ClaimOptions => ({
    max: startNow + prefetch,
    startNow,
    workerId: 'w1',
    leaseMs: 30_000,
    maxAttempts: 3,
    retentionSeconds: 3600,
    scheduling,
  });
  const rec = (id: string) => r.redis.hgetall(RedisKeys.scopedJob(WS, id));
  const leases = async () => (await r.redis.zrange(RedisKeys.leases, '0', '-1')).map((l) => l.slice(WS.length + 1, l.indexOf('|')));
  const index = (status: string) => r.redis.zrange(RedisKeys.workspaceStatusIndex(WS, status), '0', '-1');
  const events = async (id: string) => (await r.redis.xrange(RedisKeys.workspaceEvents(WS), '-', '+')).filter(([, f]) => f[3] === id).map(([, f]) => f[1]);

  it('a claim starts startNow jobs and prefetches the rest: leased, still pending, no started_at, no started event', async () => {
    const ids = await submit(4);
    const { claimed } = await scripts.claimJobs(options(1, 3));
    expect(claimed.map((j) => [j.jobId, j.startedAt === '' ? 'prefetched' : 'started'])).toEqual([
      [ids[0], 'started'],
      [ids[1], 'prefetched'],
      [ids[2], 'prefetched'],
      [ids[3], 'prefetched'],
    ]);
    expect((await leases()).sort()).toEqual([...ids].sort());
    expect(await rec(ids[1])).toMatchObject({ status: 'pending', attempts: '0' });
    expect((await rec(ids[1])).started_at ?? '').toBe('');
    expect(claimed[1].token).toBe('w1:1'); // the attempt it will be
    expect(await index('running')).toHaveLength(1);
    expect(await index('pending')).toHaveLength(3);
    expect(await events(ids[0])).toEqual(['created', 'started']);
    expect(await events(ids[1])).toEqual(['created']);
  });

  it('a start keeps the lease and writes running, attempt, started_at and the event; an outcome whose start is unconfirmed writes both at once', async () => {
    const ids = await submit(3);
    const { claimed } = await scripts.claimJobs(options(0, 3));
    const [a, b] = claimed;
    const first = await scripts.finishJobs([{ job: a, outcome: { outcome: 'start' } }], 3600);
    expect(first.results).toEqual(['done']);
    expect(await rec(a.jobId)).toMatchObject({ status: 'running', attempts: '1', started_at: first.at });
    expect(await leases()).toContain(a.jobId);
    expect(await events(a.jobId)).toEqual(['created', 'started']);

    // b started and ended before any reply: one item, start and outcome written together.
    const second = await scripts.finishJobs(
      [
        { job: a, outcome: { outcome: 'succeeded', result: { n: 1 } }, unconfirmedStart: false },
        { job: b, outcome: { outcome: 'succeeded', result: { n: 2 } }, unconfirmedStart: true },
      ],
      3600,
    );
    expect(second.results).toEqual(['done', 'done']);
    expect(await rec(b.jobId)).toMatchObject({ status: 'succeeded', attempts: '1', started_at: second.at, finished_at: second.at });
    expect(await events(b.jobId)).toEqual(['created', 'started', 'succeeded']);
    expect((await index('succeeded')).length).toBe(2);
    expect(await index('running')).toEqual([]);
    expect((await index('pending')).map((m) => m.split('/')[1])).toEqual([ids[2]]);
    expect(await leases()).toEqual([ids[2]]);

    // An unconfirmed start the earlier call did write (its reply was slow): the outcome goes on as for a running job.
    const c = claimed[2];
    await scripts.finishJobs([{ job: c, outcome: { outcome: 'start' } }], 3600);
    const third = await scripts.finishJobs([{ job: c, outcome: { outcome: 'failed', error: 'no' }, unconfirmedStart: true }], 3600);
    expect(third.results).toEqual(['done']);
    expect(await rec(c.jobId)).toMatchObject({ status: 'failed', attempts: '1' });
    expect(await events(c.jobId)).toEqual(['created', 'started', 'failed']);
  });

  it('a job cancelled while prefetched: its start answers cancelled, the lease and its running count end, nothing is written', async () => {
    const ids = await submit(2);
    const { claimed } = await scripts.claimJobs(options(0, 2, CAPPED));
    expect(await r.redis.hget(RedisKeys.runningCounts, WS)).toBe('2');
    expect((await scripts.cancelJob(WS, ids[0], 3600, 'scoped')).outcome).toBe('cancelled');
    const reply = await scripts.finishJobs(
      [
        { job: claimed[0], outcome: { outcome: 'start' } },
        { job: claimed[1], outcome: { outcome: 'succeeded', result: null }, unconfirmedStart: true },
      ],
      3600,
      options(0, 0, CAPPED),
    );
    expect(reply.results).toEqual(['cancelled', 'done']);
    expect(await rec(ids[0])).toMatchObject({ status: 'cancelled', attempts: '0' });
    expect(await events(ids[0])).toEqual(['created', 'cancelled']);
    expect(await leases()).toEqual([]);
    expect(await r.redis.hget(RedisKeys.runningCounts, WS)).toBeNull();
  });

  it('a prefetched job whose lease another worker holds now is lost to its start; a repeat of a start-and-outcome is done', async () => {
    const [id] = await submit(1);
    const { claimed } = await scripts.claimJobs(options(0, 1));
    const job: ClaimedJob = claimed[0];
    expect((await scripts.finishJobs([{ job: { ...job, token: 'w9:1' }, outcome: { outcome: 'start' } }], 3600)).results).toEqual(['lost']);
    expect((await rec(id)).status).toBe('pending');
    const done = await scripts.finishJobs([{ job, outcome: { outcome: 'succeeded', result: 7 }, unconfirmedStart: true }], 3600);
    expect(done.results).toEqual(['done']);
    // Its reply lost, the worker repeats: the lease is gone, the record shows exactly this outcome.
    expect((await scripts.finishJobs([{ job, outcome: { outcome: 'succeeded', result: 7 }, repeat: true, unconfirmedStart: true }], 3600)).results).toEqual(['done']);
    expect((await scripts.finishJobs([{ job, outcome: { outcome: 'succeeded', result: 8 }, repeat: true, unconfirmedStart: true }], 3600)).results).toEqual(['lost']);
  });

  it('shutdown release of a prefetched job gives back no attempt and appends no event; the job is first in line again', async () => {
    const ids = await submit(2);
    const { claimed } = await scripts.claimJobs(options(0, 2));
    expect((await scripts.releaseJobs(claimed, 3600)).released).toBe(2);
    for (const id of ids) expect(await rec(id)).toMatchObject({ status: 'pending', attempts: '0' });
    for (const id of ids) expect(await events(id)).toEqual(['created']);
    const again = (await scripts.claimJobs(options(2, 0))).claimed;
    expect(again.map((j) => [j.jobId, j.attempts])).toEqual([
      [ids[0], 1],
      [ids[1], 1],
    ]);
  });
});
