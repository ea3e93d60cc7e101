import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { RelayConfig } from '@relay/config';
import { Redis, isRedisUnavailableError, unavailabilityReason } from '@relay/redis';
import { CancelChannel, WorkQueue, settledWithin, type ClaimedJob, type FinishItem, type FinishResult } from '@relay/queue';
import { RelayMetrics, WorkspaceLabelPolicy, withLogContext } from '@relay/telemetry';
import { AttemptLog } from './attempt-log.js';
import { ClaimRequests } from './claim-requests.js';
import { ConsumerMetrics } from './consumer-metrics.js';
import { FinishCalls } from './finish-calls.js';
import { JobRunner } from './job-runner.js';
import { LeaseKeeper } from './lease-keeper.js';
import { OutcomeRecorder } from './outcome-recorder.js';
import { PeriodicTasks } from './periodic-tasks.js';
import { PrefetchBuffer } from './prefetch-buffer.js';
import { QueueChores } from './queue-chores.js';
import { RunningJobs, startingJob, type RunningJob } from './running-jobs.js';
import { SchedulingSettings } from './scheduling-settings.js';

const BLOCK_SECONDS = 1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The consumer loop: claims up to WORKER_CONCURRENCY jobs at a time (one
 * script call for a batch), blocks on the pending list only when it is
 * empty, renews the leases of running jobs, runs the shared recovery sweep,
 * stops a running job whose cancel was requested (heard on the cancel
 * channel, or from a renewal), and on shutdown drains within the grace
 * period and releases the rest.
 *
 * This class starts attempts and runs the loop; the rest is its helpers':
 * RunningJobs (the table and its slots), PrefetchBuffer (WORKER_PREFETCH),
 * ClaimRequests (what a claim asks for), FinishCalls (outcomes and starts
 * written, and jobs claimed, per tick), OutcomeRecorder (an outcome's retries),
 * LeaseKeeper (renewals, lease losses), QueueChores, ConsumerMetrics.
 */
@Injectable()
export class JobConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(JobConsumer.name);
  readonly workerId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly running: RunningJobs;
  private readonly tasks = new PeriodicTasks(() => this.stopping);
  private blocking?: Redis;
  private cancels?: CancelChannel;
  private stopping = false;
  private loopDone?: Promise<void>;
  /** Outcomes of one tick share a finish call, which also claims jobs for the freed slots. */
  private readonly finishes: FinishCalls;
  private readonly claims: ClaimRequests;
  private readonly attemptLog = new AttemptLog();
  /** WORKER_PREFETCH (SchedulingSettings.prefetch): claimed-but-not-started jobs, started here the moment a slot frees. */
  private readonly prefetched: PrefetchBuffer;
  /** Prefetched jobs being given back because they arrived after shutdown began (see take). */
  private readonly givingBack = new Set<Promise<void>>();
  private readonly counts: ConsumerMetrics;
  private readonly outcomes: OutcomeRecorder;
  private readonly leases: LeaseKeeper;
  private readonly chores: QueueChores;

  constructor(
    private readonly config: RelayConfig,
    @Inject(Redis) private readonly redis: Redis,
    private readonly queue: WorkQueue,
    private readonly runner: JobRunner,
    private readonly metrics: RelayMetrics,
    labels: WorkspaceLabelPolicy,
    private readonly scheduling: SchedulingSettings,
  ) {
    const stopping = () => this.stopping;
    const { WORKER_CONCURRENCY: concurrency, WORKER_LEASE_MS: leaseMs, JOB_RETENTION_SECONDS: retentionSeconds } = config;
    const { prefetch } = scheduling;
    const running = (this.running = new RunningJobs(concurrency, prefetch > 0));
    const prefetched = (this.prefetched = new PrefetchBuffer(prefetch));
    const counts = (this.counts = new ConsumerMetrics(metrics, labels));
    const { logger, attemptLog, workerId } = this;
    const claims = (this.claims = new ClaimRequests({ workerId, leaseMs, maxAttempts: config.JOB_MAX_ATTEMPTS, retentionSeconds, scheduling: scheduling.claimArgs, running, prefetched, stopping }));
    const start = (job: ClaimedJob) => void this.start(job);
    const take = (claimed: readonly ClaimedJob[], leaseHeldAt: number) => this.take(claimed, leaseHeldAt);
    this.finishes = new FinishCalls({ queue, concurrency, prefetch, retentionSeconds, running, claims, counts, stopping, start, take });
    const submit = (item: FinishItem) => this.finishes.submit(item);
    this.outcomes = new OutcomeRecorder({ submit, leaseMs, stopping, metrics, counts, attemptLog, logger });
    this.leases = new LeaseKeeper({ queue, leaseMs, running, prefetched, metrics, logger, cancelRequested: (entry) => this.cancelRun(entry) });
    this.chores = new QueueChores({ queue, metrics, logger, stopping });
  }

  onApplicationBootstrap(): void {
    // A claim that fails a job for its spent attempts makes a dead letter without an attempt of ours.
    this.queue.onGiveUp((jobs) => this.attemptLog.gaveUp(jobs));
    this.queue.onHeldBack((held) => this.counts.countHeldBack(held));
    void this.chores.publishSchedule(this.scheduling.overrides);
    // A separate connection for the blocking wait, whose timeout must exceed the block time.
    this.blocking = this.redis.duplicate({ commandTimeout: BLOCK_SECONDS * 1000 + this.config.REDIS_COMMAND_TIMEOUT_MS, connectionName: 'relay-worker-blocking' });
    this.blocking.on('error', () => undefined);
    this.cancels = CancelChannel.listen(this.redis, (entry) => this.cancelRun(entry));
    const lease = this.config.WORKER_LEASE_MS;
    // Leases are renewed during the shutdown grace period too: a job still draining must not be re-delivered.
    this.tasks.every(Math.max(50, Math.floor(lease / 3)), () => this.leases.renew(), true);
    const recoverEvery = Math.max(50, Math.floor(lease / 2));
    this.tasks.every(recoverEvery, () => this.chores.recover(recoverEvery, this.config.JOB_RETENTION_SECONDS));
    this.tasks.every(2000, () => this.chores.reportDepth());
    this.loopDone = this.loop();
    this.logger.log(`worker ${this.workerId} consuming with concurrency ${this.config.WORKER_CONCURRENCY}`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.running.wake();
    this.blocking?.disconnect();
    await this.loopDone;
    await this.givePrefetchedBack(this.prefetched.takeAll());
    const grace = this.config.WORKER_SHUTDOWN_GRACE_MS;
    const drained = await settledWithin(Promise.all(this.running.all().map((r) => r.done)), grace);
    // (A job's finish that brought jobs to hold has been answered by now: its job counted as running.)
    await Promise.all(this.givingBack);
    if (!drained) {
      // A job whose outcome is being written is left to its finish (or, failing that, to recovery):
      // releasing it could requeue a job that has completed.
      const left = this.running.all().filter((r) => !r.finishing);
      for (const r of left) r.control.stop(new Error('worker shutting down'));
      const { released, cancelled } = await this.queue.release(left.map((r) => r.job), this.config.JOB_RETENTION_SECONDS).catch(() => ({ released: 0, cancelled: 0 }));
      this.logger.warn(`shutdown grace of ${grace} ms passed: released ${released} of ${left.length} running job(s) for re-delivery${cancelled > 0 ? `, cancelled ${cancelled} whose cancel was requested` : ''}`);
    }
    this.tasks.clear();
    this.cancels?.close();
  }

  private async loop(): Promise<void> {
    let backoff = 0;
    while (!this.stopping) {
      const free = this.running.free();
      if (free <= 0) {
        await this.running.slotFrees();
        continue;
      }
      if (this.startPrefetched() > 0) continue;
      const call = this.claims.callOut(free);
      try {
        const round = await this.queue.claimRound(call.options).finally(call.answered);
        let claimed = round.claimed;
        // Nothing to claim: block. (Unless a run of cancelled or rate-limited entries used the call's
        // budget: then more may be waiting in the workspace queues, so look again at once.)
        if (claimed.length === 0 && !round.moreWaiting && !this.stopping) {
          // Block for new work, but no longer than until the next retry is due (claims promote it).
          const untilRetry = await this.queue.msUntilNextRetry();
          const block = untilRetry === undefined ? BLOCK_SECONDS : Math.min(BLOCK_SECONDS, Math.max(0.01, untilRetry / 1000));
          const entry = await this.queue.waitForEntry(this.blocking!, block);
          // Even when stopping: lease what the wait took, so it is not left unleased (it then drains or is released).
          if (entry) claimed = await this.queue.claim({ ...this.claims.options(free), blockedEntry: entry });
        }
        this.take(claimed);
        backoff = 0;
      } catch (error) {
        if (this.stopping) break;
        backoff = Math.min(1000, Math.max(100, backoff * 2));
        // Redis away or refusing writes (OOM): back off quietly and count it; readiness reports it.
        if (isRedisUnavailableError(error)) this.metrics.workerBackoffs.inc({ reason: unavailabilityReason(error) });
        else this.logger.error(`claim failed: ${(error as Error).message}`);
        await sleep(backoff);
      }
    }
  }

  private start(job: ClaimedJob, leaseHeldAt = Date.now()): RunningJob {
    this.counts.countStarted(job.workspaceId);
    if (job.startedAt) this.counts.observeWait(job);
    const running = startingJob(job, leaseHeldAt);
    const { control } = running;
    // Every line the attempt logs (the action's included) carries the job's ids.
    running.done = withLogContext({ job_id: job.jobId, workspace_id: job.workspaceId }, () => this.runner.run(job, control))
      .then((outcome) => {
        // The slot is free now: a prefetched job starts in it in this same tick, so that its start
        // and this outcome go to Redis in one call.
        running.actionEnded = true;
        if (this.scheduling.prefetch > 0) this.startPrefetched();
        return this.outcomes.record(running, outcome);
      })
      .catch((error: unknown) => this.logger.error(`job ${job.jobId}: ${(error as Error).message}`))
      .finally(() => this.running.remove(job.entry));
    this.running.add(running);
    return running;
  }

  /** Claimed jobs: those the claim started run now; prefetched ones wait for a slot (or take a free one at once). */
  private take(claimed: readonly ClaimedJob[], leaseHeldAt = Date.now()): void {
    // Jobs to hold that a call asked for before shutdown began, answered after the held ones were
    // given back: they go back at once too (held, they would wait out the grace period and a lease).
    const late: ClaimedJob[] = [];
    for (const job of claimed) {
      if (job.startedAt) this.start(job, leaseHeldAt);
      else if (this.stopping) late.push(job);
      else this.prefetched.hold(job, leaseHeldAt);
    }
    if (late.length > 0) {
      const givingBack = this.givePrefetchedBack(late);
      this.givingBack.add(givingBack);
      void givingBack.finally(() => this.givingBack.delete(givingBack));
    }
    this.startPrefetched();
  }

  /**
   * Starts prefetched jobs in the free slots, here and now, and sends each start to Redis (with the
   * tick's other outcomes). A job whose lease may have lapsed (a stalled event loop) is not started:
   * it may already run elsewhere; recovery re-delivers it. Returns how many started.
   */
  private startPrefetched(): number {
    let started = 0;
    while (!this.stopping && this.prefetched.length > 0 && this.running.free() > 0) {
      const { job, leaseHeldAt } = this.prefetched.takeOldest()!;
      if (Date.now() - leaseHeldAt >= (this.config.WORKER_LEASE_MS * 2) / 3) {
        this.metrics.leaseLosses.inc({ reason: 'not_renewed' });
        continue;
      }
      const running = this.start(job, leaseHeldAt);
      started++;
      void this.finishes.submit({ job, outcome: { outcome: 'start' } }).then(
        (result) => this.startRecorded(running, result),
        // Redis away: the job's finish writes the start with its outcome (unconfirmedStart).
        () => undefined,
      );
    }
    return started;
  }

  private startRecorded(running: RunningJob, result: FinishResult): void {
    // Answered with its outcome (written together): the finish has handled what the answer says.
    if (result === 'done' || running.actionEnded) return;
    if (result === 'lost') return this.leases.stop(running, 'lease lost before its start was recorded; it runs elsewhere', 'lost_on_start');
    // Cancelled (or its record expired) while it waited here: stop it; Redis has ended its lease.
    running.cancelledBeforeStart = true;
    running.control.stop(new Error(result === 'cancelled' ? 'cancelled before it started' : 'job gone'));
  }

  /** Shutdown: prefetched jobs go back to their queues at once, for any worker to take. */
  private async givePrefetchedBack(jobs: ClaimedJob[]): Promise<void> {
    if (jobs.length === 0) return;
    const reply = await this.queue.release(jobs, this.config.JOB_RETENTION_SECONDS).catch(() => ({ released: 0 }));
    this.logger.log(`released ${reply.released} of ${jobs.length} prefetched job(s) at shutdown`);
  }

  /** A cancel was requested for a job this worker may run: its attempt stops, and the finish records `cancelled`. */
  private cancelRun(entry: string): void {
    // Prefetched and not started: it never runs. Its start item finds it cancelled, which ends its
    // lease and frees its place under a cap at once (instead of when the lease lapses).
    const dropped = this.prefetched.take(entry);
    if (dropped) {
      void this.finishes.submit({ job: dropped.job, outcome: { outcome: 'start' } }).catch(() => undefined);
      return;
    }
    const running = this.running.get(entry);
    // An attempt whose outcome is being written ended first (finishJobs keeps it, or makes a retry `cancelled`).
    if (!running || running.finishing || running.lostLease) return;
    running.control.cancel();
  }
}
