import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { Redis, RedisKeys } from '@relay/redis';
import { RelayMetrics, WorkspaceLabelPolicy } from '@relay/telemetry';
import { QueueScripts } from '../scripts/queue-scripts.js';
import type {
  AttemptOutcome,
  ClaimedJob,
  ClaimOptions,
  FinishItem,
  FinishResult,
  GivenUpJob,
  HeldBack,
  LeaseHolder,
  NextClaim,
  ProgressResult,
  RecoveryReply,
  ReleaseReply,
  RenewReply,
  RequeueReply,
} from '../scripts/script-types.js';
import { ActiveWorkspaces } from './active-workspaces.js';
import { readQueueDepth, type QueueDepth } from './queue-depth.js';
import { QueueDepthReport } from './queue-depth-report.js';

/** Index entries removed (retention set) or read (expiry sweep) per call, a few ms of Redis; the time one pass may spend on them. */
const EXPIRE_BATCH = 1000;
const EXPIRE_BUDGET_MS = 5000;
/** Workspace queues whose next job the oldest-pending gauge reads, per report (every 2 s per worker). */
const OLDEST_WORKSPACES_READ = 1000;

/**
 * The worker's queue: claim with a lease, renew, finish (fenced by the lease
 * token), release on shutdown, recover what dead workers held, and the
 * dead-letter list. Each operation is one script of QueueScripts; this
 * class adds what the worker and operators need around them (reporting
 * skipped writes, the blocking wait, depth and dead-letter reads). Finish
 * batching is FinishBatcher's; the claim loop is the worker app's.
 */
@Injectable()
export class WorkQueue {
  private readonly logger = new Logger(WorkQueue.name);
  private givenUpListener?: (jobs: GivenUpJob[]) => void;
  private heldBackListener?: (held: HeldBack[]) => void;
  private readonly depth?: QueueDepthReport;

  constructor(
    private readonly scripts: QueueScripts,
    @Inject(Redis) private readonly redis: Redis,
    @Optional() private readonly metrics?: RelayMetrics,
    @Optional() labels?: WorkspaceLabelPolicy,
  ) {
    if (metrics) this.depth = new QueueDepthReport(redis, metrics, labels ?? WorkspaceLabelPolicy.unscoped(), new ActiveWorkspaces(redis));
  }

  /**
   * The claim and finish scripts skip (rather than abort on) an index,
   * expiry-registry or dead-letter write that fails, so that the other jobs of the
   * call are not stranded; such a failure means a key of another type is in
   * the way (corruption or an operator's mistake), so it is logged and counted.
   */
  private reportSkippedWrites(skipped: number): void {
    if (skipped <= 0) return;
    this.metrics?.statusUpdateFailures.inc({ reason: 'index_write' }, skipped);
    this.logger.error(
      `${skipped} index, expiry-registry or dead-letter write(s) skipped: a key of another type is in the way (an ai:index:* key, ai:queue:expiring-workspaces, ai:queue:retry or ai:queue:dead); listings may be off until it is repaired`,
    );
  }

  /** Who hears of jobs a claim failed for their spent attempts (the worker logs them as dead letters). */
  onGiveUp(listener: (jobs: GivenUpJob[]) => void): void {
    this.givenUpListener = listener;
  }

  private reportGivenUp(jobs: GivenUpJob[]): void {
    if (jobs.length > 0) this.givenUpListener?.(jobs);
  }

  /** Who hears of work a claim or finish held back (a cap, a rate limit, an action's Retry-After), for metrics. */
  onHeldBack(listener: (held: HeldBack[]) => void): void {
    this.heldBackListener = listener;
  }

  private reportHeldBack(held: HeldBack[]): void {
    if (held.length > 0) this.heldBackListener?.(held);
  }

  async claim(options: ClaimOptions): Promise<ClaimedJob[]> {
    return (await this.claimRound(options)).claimed;
  }

  /** claim, saying too whether more may be waiting although none was claimed (see claimJobs.lua). */
  async claimRound(options: ClaimOptions): Promise<{ claimed: ClaimedJob[]; moreWaiting: boolean }> {
    const { claimed, skippedWrites, gaveUp, heldBack, moreWaiting } = await this.scripts.claimJobs(options);
    this.reportSkippedWrites(skippedWrites);
    this.reportGivenUp(gaveUp);
    this.reportHeldBack(heldBack);
    return { claimed, moreWaiting };
  }

  /**
   * Publishes this worker's WORKSPACE_LIMITS weights and caps, which claims
   * read per workspace (every worker should run with the same settings; the
   * last one started wins). Answers whether the stored table differed from
   * this one (another worker runs with other settings, or they changed).
   */
  async publishSchedule(overrides: Readonly<Record<string, { weight: number; maxRunning: number }>>): Promise<boolean> {
    const wanted = Object.fromEntries(Object.entries(overrides).map(([ws, o]) => [ws, `${o.weight} ${o.maxRunning}`]));
    const stored = await this.redis.hgetall(RedisKeys.workspaceSchedule);
    const differs = Object.keys(stored).length > 0 && JSON.stringify(Object.entries(stored).sort()) !== JSON.stringify(Object.entries(wanted).sort());
    const tx = this.redis.multi().del(RedisKeys.workspaceSchedule);
    if (Object.keys(wanted).length > 0) tx.hset(RedisKeys.workspaceSchedule, wanted);
    await tx.exec();
    return differs;
  }

  /** Milliseconds until the earliest retry or delayed job is due by Redis's clock (claims promote it), or undefined when none waits. */
  msUntilNextRetry(): Promise<number | undefined> {
    return this.scripts.retryDueIn();
  }

  /** Waits up to timeoutSeconds for a pending entry, moving it to the active list; on a blocking connection. */
  async waitForEntry(blocking: Redis, timeoutSeconds: number): Promise<string | null> {
    return blocking.blmove(RedisKeys.pendingQueue, RedisKeys.activeQueue, 'RIGHT', 'LEFT', timeoutSeconds);
  }

  /**
   * Records an attempt's outcome ('lost' when the lease is no longer this
   * worker's) and, in the same round trip, claims up to `next.max` jobs.
   */
  async finish(job: ClaimedJob, outcome: AttemptOutcome, retentionSeconds: number, next?: NextClaim): Promise<{ result: FinishResult; claimed: ClaimedJob[] }> {
    const { results, claimed } = await this.finishMany([{ job, outcome }], retentionSeconds, next);
    return { result: results[0], claimed };
  }

  /** finish for several jobs in one script call (FinishBatcher gathers what finished in the same tick). */
  async finishMany(items: readonly FinishItem[], retentionSeconds: number, next?: NextClaim): Promise<{ results: FinishResult[]; claimed: ClaimedJob[]; at: string }> {
    const { results, claimed, skippedWrites, gaveUp, heldBack, at } = await this.scripts.finishJobs(items, retentionSeconds, next);
    this.reportSkippedWrites(skippedWrites);
    this.reportGivenUp(gaveUp);
    this.reportHeldBack(heldBack);
    return { results, claimed, at };
  }

  /** Extends the leases still held; names the entries whose lease was lost and those whose cancel was requested. */
  async renew(jobs: readonly LeaseHolder[], leaseMs: number): Promise<RenewReply> {
    if (jobs.length === 0) return { lost: [], cancelRequested: [] };
    return this.scripts.renewLeases(jobs, leaseMs);
  }

  /** Stores an action's progress on its job, while the job's lease is held (the worker throttles the calls). */
  reportProgress(job: LeaseHolder, progress: number, message: string): Promise<ProgressResult> {
    return this.scripts.reportProgress(job, progress, message);
  }

  /**
   * Gives unfinished jobs back for immediate re-delivery (graceful shutdown); a job whose cancel was
   * requested is cancelled instead, kept retentionSeconds like any final job.
   */
  async release(jobs: readonly LeaseHolder[], retentionSeconds: number): Promise<ReleaseReply> {
    if (jobs.length === 0) return { released: 0, cancelled: 0 };
    return this.scripts.releaseJobs(jobs, retentionSeconds);
  }

  /**
   * One recovery pass (skipped when another worker ran one within lockMs),
   * then the index entries of expired jobs, EXPIRE_BATCH per call, bounded
   * in time: first those the retention set names (predecessor records, an
   * earlier release's jobs) until none is due, then the expiry sweep until
   * it has been once over every workspace with finished jobs
   * (sweepFinishedIndexes.lua; it reads only jobs created more than
   * `retentionSeconds` ago, JOB_RETENTION_SECONDS: 0 reads them all, and
   * trims each such workspace's event stream by age). At any throughput
   * the indexes, and the stored-jobs quota counted from them, follow expiry
   * within one pass.
   * A job of an expired lease whose cancel was requested is cancelled, kept
   * retentionSeconds like any final job, instead of requeued.
   */
  async recover(lockMs: number, retentionSeconds: number): Promise<RecoveryReply | undefined> {
    const pass = await this.scripts.recoverStalled(lockMs, retentionSeconds);
    if (!pass) return undefined;
    let dropped = 0;
    const until = Date.now() + EXPIRE_BUDGET_MS;
    for (;;) {
      const handled = await this.scripts.expireIndexEntries(EXPIRE_BATCH);
      dropped += handled;
      if (handled < EXPIRE_BATCH || Date.now() > until) break;
    }
    while (Date.now() <= until) {
      const step = await this.scripts.sweepFinishedIndexes(retentionSeconds, EXPIRE_BATCH);
      dropped += step.dropped;
      if (step.cycleDone) break;
    }
    return { ...pass, dropped };
  }

  /** The whole queue's counts (pending, running, delayed, retrying, dead), read now. */
  async depthTotals(): Promise<QueueDepth> {
    return (await readQueueDepth(this.redis, [])).total;
  }

  /** Sets ai_queue_depth{state, workspace_id} from Redis (queue-depth-report.ts). */
  async reportDepth(): Promise<void> {
    await this.depth?.report();
  }

  /**
   * Seconds the longest-waiting job next in line has waited since it last
   * became pending, by Redis's clock; 0 when none is pending. The jobs next
   * in line are the consuming ends of ai:queue:pending (not yet drained) and
   * of each workspace queue in the rotation (ready or capped; at most
   * OLDEST_WORKSPACES_READ of each). updated_at rather than created_at: a job
   * retried or re-delivered has been waiting in line only since then.
   */
  async oldestPendingSeconds(): Promise<number> {
    const [queued, capped] = await Promise.all([
      this.redis.zrange(RedisKeys.readyWorkspaces, '0', String(OLDEST_WORKSPACES_READ - 1)),
      this.redis.srandmember(RedisKeys.cappedWorkspaces, OLDEST_WORKSPACES_READ),
    ]);
    const heads = this.redis.pipeline().lindex(RedisKeys.pendingQueue, -1);
    for (const ws of [...queued, ...capped]) heads.lindex(RedisKeys.workspaceQueue(ws), -1);
    const entries = ((await heads.exec()) ?? []).map(([, value]) => value).filter((v): v is string => typeof v === 'string' && v.includes(':'));
    if (entries.length === 0) return 0;
    const reads = this.redis.pipeline();
    for (const entry of entries) {
      const sep = entry.indexOf(':');
      reads.hget(RedisKeys.scopedJob(entry.slice(0, sep), entry.slice(sep + 1)), 'updated_at').hget(RedisKeys.legacyJob(entry.slice(sep + 1)), 'updated_at');
    }
    const replies = ((await reads.time().exec()) ?? []).map(([, value]) => value);
    const [seconds, micros] = (replies.pop() as [string, string] | undefined) ?? ['', ''];
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    let oldest = 0;
    for (let i = 0; i < replies.length; i += 2) {
      const since = Date.parse(String(replies[i] || replies[i + 1] || ''));
      if (Number.isFinite(since) && Number.isFinite(now)) oldest = Math.max(oldest, (now - since) / 1000);
    }
    return oldest;
  }

  /** Dead-letter entries, newest first. */
  async listDead(limit = 100): Promise<{ workspaceId: string; jobId: string }[]> {
    const entries = await this.redis.lrange(RedisKeys.deadLetters, 0, limit - 1);
    return entries.map((e) => ({ workspaceId: e.slice(0, e.indexOf(':')), jobId: e.slice(e.indexOf(':') + 1) }));
  }

  requeueDead(workspaceId: string, jobId: string): Promise<RequeueReply> {
    return this.scripts.requeueDead(workspaceId, jobId);
  }
}
