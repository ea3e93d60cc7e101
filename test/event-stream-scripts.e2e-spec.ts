import { ConsoleLogger, Logger } from '@nestjs/common';
import { loadConfig } from '@relay/config';
import { QueueScripts, WorkQueue, type ClaimedJob, type CreateScriptRequest } from '@relay/queue';
import { RedisKeys } from '@relay/redis';
import { RelayMetrics } from '@relay/telemetry';
import { CapturingLogger } from './support/api-harness.js';
import { FIXED_EVENT_FIELDS, history, jobEvents } from './support/event-stream.js';
import { expectEventually } from './support/expect-eventually.js';
import { fileRedis, type FileRedis } from './support/redis.js';

const HOUR = 3600;

/**
 * Issue 15, point 1, at the scripts: a job that becomes pending again after
 * a start appends `retrying` whatever put it back (a deferral, release at
 * shutdown, lease expiry, an operator's requeue), with its reason; a claim
 * that finds the attempts spent appends `dead_lettered`; the recovery pass
 * trims events past the retention window as jobs expire; a stream key of
 * another type never stops a job's change (the append is skipped and counted).
 */
describe('job events of requeues, trimming and broken keys (scripts)', () => {
  let r: FileRedis;
  let scripts: QueueScripts;
  let queue: WorkQueue;
  let n = 0;

  beforeAll(async () => {
    r = await fileRedis();
    scripts = new QueueScripts(r.redis);
    queue = new WorkQueue(scripts, r.redis);
  });
  afterAll(async () => {
    await r?.stop();
  });

  /** Creates one debug.echo job in `ws` with its own scripts (their settings); returns its id. */
  async function create(ws: string, using = scripts): Promise<string> {
    const jobId = `job-${++n}`;
    const request: CreateScriptRequest = { workspaceId: ws, requestHash: '', jobs: [{ copies: 'S', jobId, actorId: 'a', provider: 'debug', name: 'echo', paramsJson: '{"secret":"p"}' }] };
    expect((await using.createJobs([request]))[0].outcome).toBe('created');
    return jobId;
  }
  const claim = async (id: string, options: { leaseMs?: number; maxAttempts?: number; using?: QueueScripts } = {}): Promise<ClaimedJob> => {
    const { claimed } = await (options.using ?? scripts).claimJobs({ max: 100, workerId: 'w1', leaseMs: options.leaseMs ?? 30_000, maxAttempts: options.maxAttempts ?? 3, retentionSeconds: HOUR });
    const job = claimed.find((j) => j.jobId === id);
    if (!job) throw new Error(`${id} not claimed`);
    return job;
  };
  const redisMs = async () => {
    const [s, us] = await r.redis.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  };

  it('a deferral: retrying (reason deferred) with retry_at its due time, the attempt it gave back', async () => {
    const id = await create('acme');
    const job = await claim(id);
    expect((await scripts.finishJobs([{ job, outcome: { outcome: 'defer', error: 'rate limited upstream', delayMs: 5000 } }], HOUR)).results).toEqual(['done']);
    const events = await jobEvents(r.redis, 'acme', id);
    expect(history(events)).toEqual(['created:pending:0', 'started:running:1', 'retrying:pending:1']);
    const deferred = events[2];
    expect(deferred.names).toEqual([...FIXED_EVENT_FIELDS, 'error', 'retry_at', 'reason']);
    expect(deferred.f).toMatchObject({ error: 'rate limited upstream', reason: 'deferred' });
    expect(Date.parse(deferred.f.retry_at) - Date.parse(deferred.f.at)).toBe(5000);
    expect(Date.parse(deferred.f.retry_at)).toBe(Number(await r.redis.zscore(RedisKeys.delayedQueue, `acme:${id}`)));
  });

  it('released at shutdown: retrying (reason worker_stopped) for the interrupted attempt, due at once', async () => {
    const id = await create('acme');
    const job = await claim(id);
    expect(await scripts.releaseJobs([job], HOUR)).toEqual({ released: 1, cancelled: 0 });
    const events = await jobEvents(r.redis, 'acme', id);
    expect(history(events)).toEqual(['created:pending:0', 'started:running:1', 'retrying:pending:1']);
    expect(events[2].f).toMatchObject({ reason: 'worker_stopped', retry_at: events[2].f.at });
    expect(events[2].f.error).toMatch(/worker stopped/);
    // Its attempt was given back: the next start is attempt 1 again.
    await claim(id);
    expect(history(await jobEvents(r.redis, 'acme', id)).at(-1)).toBe('started:running:1');
  });

  it('a lapsed lease: retrying (reason lease_expired); a claim that finds the attempts spent: dead_lettered, and nothing after', async () => {
    const id = await create('acme');
    await claim(id, { leaseMs: 1, maxAttempts: 1 });
    await expectEventually(async () => expect(await scripts.recoverStalled(1, HOUR)).toMatchObject({ expired: 1 }));
    let events = await jobEvents(r.redis, 'acme', id);
    expect(history(events)).toEqual(['created:pending:0', 'started:running:1', 'retrying:pending:1']);
    expect(events[2].f).toMatchObject({ reason: 'lease_expired', retry_at: events[2].f.at });

    const { gaveUp } = await scripts.claimJobs({ max: 10, workerId: 'w2', leaseMs: 30_000, maxAttempts: 1, retentionSeconds: HOUR });
    expect(gaveUp.map((j) => j.jobId)).toEqual([id]);
    events = await jobEvents(r.redis, 'acme', id);
    expect(history(events)).toEqual(['created:pending:0', 'started:running:1', 'retrying:pending:1', 'dead_lettered:failed:1']);
    expect(events[3].names).toEqual([...FIXED_EVENT_FIELDS, 'error']);
    expect(events[3].f.error).toBe(await r.redis.hget(RedisKeys.scopedJob('acme', id), 'error'));
    await scripts.claimJobs({ max: 10, workerId: 'w2', leaseMs: 30_000, maxAttempts: 1, retentionSeconds: HOUR });
    expect(await jobEvents(r.redis, 'acme', id)).toHaveLength(4);
  });

  it("an operator's requeue of a dead letter: retrying (reason requeued) at attempt 0, then it runs again from attempt 1", async () => {
    const id = await create('acme');
    const job = await claim(id);
    await scripts.finishJobs([{ job, outcome: { outcome: 'failed', error: 'no', attemptsSpent: true } }], HOUR);
    expect(await queue.requeueDead('acme', id)).toBe('requeued');
    const events = await jobEvents(r.redis, 'acme', id);
    expect(history(events)).toEqual(['created:pending:0', 'started:running:1', 'dead_lettered:failed:1', 'retrying:pending:0']);
    expect(events[3].f).toMatchObject({ reason: 'requeued', action: 'debug.echo', retry_at: events[3].f.at });
    await claim(id);
    expect(history(await jobEvents(r.redis, 'acme', id)).at(-1)).toBe('started:running:1');
  });

  it('age: the recovery pass trims events older than JOB_RETENTION_SECONDS as jobs expire, and keeps the newer ones', async () => {
    const RETENTION = 4;
    const short = new QueueScripts(r.redis, undefined, loadConfig({ JOB_RETENTION_SECONDS: String(RETENTION) }));
    const old = await create('aged', short);
    const job = await claim(old, { using: short });
    await short.finishJobs([{ job, outcome: { outcome: 'succeeded', result: 1 } }], RETENTION);
    const finishedAt = Date.parse((await jobEvents(r.redis, 'aged', old)).at(-1)!.f.at);
    // A newer event, written late enough in the window to outlive the trim by seconds.
    await expectEventually(async () => expect(await redisMs()).toBeGreaterThan(finishedAt + 3500), 6000, 50);
    const fresh = await create('aged', short);
    const shortQueue = new WorkQueue(short, r.redis);
    await expectEventually(async () => {
      await shortQueue.recover(1, RETENTION);
      expect(await jobEvents(r.redis, 'aged', old)).toEqual([]);
    }, 5000, 100);
    expect(history(await jobEvents(r.redis, 'aged', fresh))).toEqual(['created:pending:0']);
    expect(await r.redis.xlen(RedisKeys.workspaceEvents('aged'))).toBe(1);
  });

  it('a stream key of another type: the jobs change all the same, each append is skipped, logged and counted (event_write)', async () => {
    const metrics = new RelayMetrics();
    const counted = async () => (await metrics.statusUpdateFailures.get()).values.find((v) => v.labels.reason === 'event_write')?.value ?? 0;
    const watched = new QueueScripts(r.redis, undefined, undefined, metrics);
    await r.redis.set(RedisKeys.workspaceEvents('broken'), 'not a stream');
    const before = await counted();
    const logs = new CapturingLogger();
    Logger.overrideLogger(logs);
    try {
      const id = await create('broken', watched);
      const job = await claim(id, { using: watched });
      expect((await watched.finishJobs([{ job, outcome: { outcome: 'succeeded', result: { ok: true } } }], HOUR)).results).toEqual(['done']);
      expect(await r.redis.hget(RedisKeys.scopedJob('broken', id), 'status')).toBe('succeeded');
    } finally {
      Logger.overrideLogger(new ConsoleLogger());
    }
    expect(await counted()).toBe(before + 3);
    const logged = logs.records.filter((line) => String(line.message).includes('job event(s) not appended'));
    expect(logged.map((line) => [line.level, line.context])).toEqual(Array(3).fill(['error', 'QueueScripts']));
    expect(await r.redis.get(RedisKeys.workspaceEvents('broken'))).toBe('not a stream');
  });
});
