import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { RelayConfig } from '@relay/config';
import { Redis, isRedisUnavailableError, unavailabilityReason } from '@relay/redis';
import { FinishBatcher, finishBatchSize, WorkQueue, type AttemptOutcome, type ClaimedJob, type FinishItem, type FinishResult, type HeldBack } from '@relay/queue';
import { RelayMetrics, WorkspaceLabelPolicy, withLogContext } from '@relay/telemetry';
import type { Counter, Histogram } from 'prom-client';
import { AttemptControl } from './attempt-control.js';
import { AttemptLog } from './attempt-log.js';
import { JobRunner } from './job-runner.js';
import { SchedulingSettings } from './scheduling-settings.js';

interface Running {
  job: ClaimedJob;
  control: AttemptControl;
  lostLease: boolean;
  /** The attempt has ended and its outcome is being written: the finish ends the lease, not a renewal. */
  finishing: boolean;
  /** When the lease was last known held (claim or successful renewal), by this process's clock. */
  leaseHeldAt: number;
  /** performance.now() when the attempt started, for its log line. */
  startedAt: number;
  done: Promise<void>;
}

const BLOCK_SECONDS = 1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The consumer loop: claims up to WORKER_CONCURRENCY jobs at a time (one
 * script call for a batch), blocks on the pending list only when it is
 * empty, renews the leases of running jobs, runs the shared recovery sweep,
 * and on shutdown drains within the grace period and releases the rest.
 */
@Injectable()
export class JobConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(JobConsumer.name);
  readonly workerId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly running = new Map<string, Running>();
  private readonly timers: NodeJS.Timeout[] = [];
  private blocking?: Redis;
  private stopping = false;
  private loopDone?: Promise<void>;
  private slotFreed?: () => void;
  /** Outcomes of one tick share a finish call, which also claims jobs for the freed slots. */
  private readonly finishes: FinishBatcher;
  /** Labelled metric children, cached: prom-client hashes the label set on every unlabelled call. */
  private readonly counted = new Map<string, { total: Counter.Internal; latency: Histogram.Internal<string> }>();
  private readonly attemptLog = new AttemptLog();

  constructor(
    private readonly config: RelayConfig,
    @Inject(Redis) private readonly redis: Redis,
    private readonly queue: WorkQueue,
    private readonly runner: JobRunner,
    private readonly metrics: RelayMetrics,
    private readonly labels: WorkspaceLabelPolicy,
    private readonly scheduling: SchedulingSettings,
  ) {
    this.finishes = new FinishBatcher((items) => this.finishAndClaim(items), finishBatchSize(config.WORKER_CONCURRENCY));
  }

  onApplicationBootstrap(): void {
    // A claim that fails a job for its spent attempts makes a dead letter without an attempt of ours.
    this.queue.onGiveUp((jobs) => this.attemptLog.gaveUp(jobs));
    this.queue.onHeldBack((held) => this.countHeldBack(held));
    void this.publishSchedule();
    // A separate connection for the blocking wait, whose timeout must exceed the block time.
    this.blocking = this.redis.duplicate({ commandTimeout: BLOCK_SECONDS * 1000 + this.config.REDIS_COMMAND_TIMEOUT_MS, connectionName: 'relay-worker-blocking' });
    this.blocking.on('error', () => undefined);
    const lease = this.config.WORKER_LEASE_MS;
    // Leases are renewed during the shutdown grace period too: a job still draining must not be re-delivered.
    this.every(Math.max(50, Math.floor(lease / 3)), () => this.renewLeases(), true);
    this.every(Math.max(50, Math.floor(lease / 2)), () => this.recover());
    this.every(2000, () => this.reportDepth());
    this.loopDone = this.loop();
    this.logger.log(`worker ${this.workerId} consuming with concurrency ${this.config.WORKER_CONCURRENCY}`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.slotFreed?.();
    this.blocking?.disconnect();
    await this.loopDone;
    const grace = this.config.WORKER_SHUTDOWN_GRACE_MS;
    const drained = await Promise.race([
      Promise.all([...this.running.values()].map((r) => r.done)).then(() => true),
      sleep(grace).then(() => false),
    ]);
    if (!drained) {
      // A job whose outcome is being written is left to its finish (or, failing that, to recovery):
      // releasing it could requeue a job that has completed.
      const left = [...this.running.values()].filter((r) => !r.finishing);
      for (const r of left) r.control.stop(new Error('worker shutting down'));
      const released = await this.queue.release(left.map((r) => r.job)).catch(() => 0);
      this.logger.warn(`shutdown grace of ${grace} ms passed: released ${released} of ${left.length} running job(s) for re-delivery`);
    }
    for (const timer of this.timers) clearInterval(timer);
  }

  /**
   * Claims read each workspace's weight and cap from Redis, so that every worker applies the same
   * ones; published at start-up, again until Redis takes it (claims meanwhile use what is stored).
   */
  private async publishSchedule(): Promise<void> {
    for (let wait = 250; !this.stopping; wait = Math.min(5000, wait * 2)) {
      try {
        if (await this.queue.publishSchedule(this.scheduling.overrides)) {
          this.logger.warn('WORKSPACE_LIMITS weights or caps differ from those another worker published; this worker\'s now apply (run every worker with the same settings)');
        }
        return;
      } catch (error) {
        if (!isRedisUnavailableError(error)) this.logger.error(`publishing WORKSPACE_LIMITS weights and caps failed: ${(error as Error).message}`);
        await sleep(wait);
      }
    }
  }

  private every(ms: number, task: () => Promise<void>, duringShutdown = false): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy || (this.stopping && !duringShutdown)) return;
      busy = true;
      void task().finally(() => (busy = false));
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }

  private async loop(): Promise<void> {
    let backoff = 0;
    while (!this.stopping) {
      const free = this.config.WORKER_CONCURRENCY - this.running.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      try {
        const round = await this.queue.claimRound(this.claimOptions(free));
        let claimed = round.claimed;
        // Nothing to claim: block. (Unless a run of cancelled or rate-limited entries used the call's
        // budget: then more may be waiting in the workspace queues, so look again at once.)
        if (claimed.length === 0 && !round.moreWaiting && !this.stopping) {
          // Block for new work, but no longer than until the next retry is due (claims promote it).
          const untilRetry = await this.queue.msUntilNextRetry();
          const block = untilRetry === undefined ? BLOCK_SECONDS : Math.min(BLOCK_SECONDS, Math.max(0.01, untilRetry / 1000));
          const entry = await this.queue.waitForEntry(this.blocking!, block);
          // Even when stopping: lease what the wait took, so it is not left unleased (it then drains or is released).
          if (entry) claimed = await this.queue.claim({ ...this.claimOptions(free), blockedEntry: entry });
        }
        for (const job of claimed) this.start(job);
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

  private claimOptions(max: number) {
    return {
      max,
      workerId: this.workerId,
      leaseMs: this.config.WORKER_LEASE_MS,
      maxAttempts: this.config.JOB_MAX_ATTEMPTS,
      retentionSeconds: this.config.JOB_RETENTION_SECONDS,
      scheduling: this.scheduling.claimArgs,
    };
  }

  private start(job: ClaimedJob): void {
    this.metricsFor('running', job.workspaceId).total.inc();
    this.observeWait(job);
    const control = new AttemptControl();
    const running: Running = { job, control, lostLease: false, finishing: false, leaseHeldAt: Date.now(), startedAt: performance.now(), done: Promise.resolve() };
    // Every line the attempt logs (the action's included) carries the job's ids.
    running.done = withLogContext({ job_id: job.jobId, workspace_id: job.workspaceId }, () => this.runner.run(job, control))
      .then((outcome) => this.record(running, outcome))
      .catch((error: unknown) => this.logger.error(`job ${job.jobId}: ${(error as Error).message}`))
      .finally(() => {
        this.running.delete(job.entry);
        this.slotFreed?.();
      });
    this.running.set(job.entry, running);
  }

  /**
   * Writes the outcome and claims the next job for the freed slot in the same
   * round trip; retries while Redis is away for up to one lease, after which
   * the job is re-delivered.
   */
  private async record(running: Running, outcome: AttemptOutcome): Promise<void> {
    const { job } = running;
    const durationMs = performance.now() - running.startedAt;
    if (running.lostLease || (this.stopping && running.control.stopped)) return this.attemptLog.ended(job, undefined, durationMs);
    running.finishing = true;
    const deadline = Date.now() + this.config.WORKER_LEASE_MS;
    // After a try whose answer never came, Redis may have run it: the next try says so (repeat).
    let repeat = false;
    for (let wait = 100; ; wait = Math.min(1000, wait * 2)) {
      try {
        const result = await this.finishes.submit(job, outcome, repeat);
        if (result === 'lost') {
          this.metrics.leaseLosses.inc({ reason: 'lost_on_finish' });
          this.logger.warn(`job ${job.jobId}: lease lost before the outcome was written; another worker has it`);
        }
        if (result === 'done') this.countOutcome(job, outcome);
        this.attemptLog.ended(job, result === 'done' ? outcome.outcome : undefined, durationMs);
        return;
      } catch (error) {
        if (!isRedisUnavailableError(error) || Date.now() > deadline) {
          this.metrics.statusUpdateFailures.inc({ reason: isRedisUnavailableError(error) ? 'redis_unavailable' : 'error' });
          this.logger.error(`job ${job.jobId}: outcome not recorded (${(error as Error).message}); it will be delivered again`);
          return this.attemptLog.ended(job, undefined, durationMs);
        }
        repeat = true;
        await sleep(wait);
      }
    }
  }

  /**
   * One script call: a batch of outcomes, and as many next jobs claimed for the freed slots. A
   * repeated outcome claims nothing: its first try may have claimed already, in a reply that was lost.
   */
  private async finishAndClaim(items: FinishItem[]): Promise<FinishResult[]> {
    const fresh = items.filter((item) => !item.repeat).length;
    const next = this.stopping || fresh === 0 ? undefined : this.claimOptions(fresh);
    const { results, claimed } = await this.queue.finishMany(items, this.config.JOB_RETENTION_SECONDS, next);
    for (const job of claimed) this.start(job);
    return results;
  }

  /**
   * relay_job_wait_seconds: from submission, or a delayed job's due time, to its first start, both
   * by Redis's clock. Once per job: a retry's or a deferral's later start is not a new wait.
   */
  private observeWait(job: ClaimedJob): void {
    if (job.attempts !== 1 || job.deferrals !== 0) return;
    const eligible = Math.max(Date.parse(job.createdAt), job.runAt ? Date.parse(job.runAt) : 0);
    const seconds = (Date.parse(job.startedAt) - eligible) / 1000;
    if (Number.isFinite(seconds)) this.metrics.jobWait.observe({ workspace_id: this.labels.label(job.workspaceId) }, Math.max(0, seconds));
  }

  private countHeldBack(held: HeldBack[]): void {
    for (const h of held) this.metrics.jobsHeldBack.inc({ reason: h.reason, workspace_id: this.labels.label(h.workspaceId) }, h.times);
  }

  private countOutcome(job: ClaimedJob, outcome: AttemptOutcome): void {
    // A deferral is counted as held back (reason retry_after) by the finish that records it.
    if (outcome.outcome === 'defer') return;
    const metrics = this.metricsFor(outcome.outcome === 'retry' ? 'retrying' : outcome.outcome, job.workspaceId);
    metrics.total.inc();
    if (outcome.outcome !== 'retry') {
      const seconds = (Date.now() - Date.parse(job.createdAt)) / 1000;
      if (Number.isFinite(seconds)) metrics.latency.observe(Math.max(0, seconds));
    }
  }

  private metricsFor(status: string, workspaceId: string) {
    const labels = { status, workspace_id: this.labels.label(workspaceId) };
    const key = `${labels.status}|${labels.workspace_id}`;
    let children = this.counted.get(key);
    if (!children) {
      children = { total: this.metrics.jobsTotal.labels(labels), latency: this.metrics.jobLatency.labels(labels) };
      this.counted.set(key, children);
    }
    return children;
  }

  private async renewLeases(): Promise<void> {
    // A job whose outcome is being written is still renewed (its finish may be retried while Redis is
    // away), but a loss reported for it is no loss: its finish removed the lease.
    const held = [...this.running.values()].filter((r) => !r.lostLease);
    const attemptedAt = Date.now();
    try {
      const lost = new Set(await this.queue.renew(held.map((r) => r.job), this.config.WORKER_LEASE_MS));
      for (const running of held) {
        if (running.finishing) continue;
        if (lost.has(running.job.entry)) this.stop(running, 'lease lost; it runs elsewhere', 'lost_on_renewal');
        else running.leaseHeldAt = attemptedAt;
      }
    } catch (error) {
      if (!isRedisUnavailableError(error)) this.logger.error(`lease renewal failed: ${(error as Error).message}`);
    }
    // Unable to renew (Redis away): once a lease may have expired, another
    // worker may run the job, so this one stops it rather than run it twice.
    for (const running of held) {
      if (!running.lostLease && !running.finishing && Date.now() - running.leaseHeldAt >= this.config.WORKER_LEASE_MS) this.stop(running, 'lease not renewed in time', 'not_renewed');
    }
  }

  private stop(running: Running, why: string, reason: 'lost_on_renewal' | 'not_renewed'): void {
    running.lostLease = true;
    this.metrics.leaseLosses.inc({ reason });
    running.control.stop(new Error(why));
    this.logger.warn(`job ${running.job.jobId}: ${why}; stopped here`);
  }

  private async recover(): Promise<void> {
    try {
      const result = await this.queue.recover(Math.max(50, Math.floor(this.config.WORKER_LEASE_MS / 2)), this.config.JOB_RETENTION_SECONDS);
      if (result && (result.expired > 0 || result.stalled > 0)) this.logger.warn(`recovered jobs of stopped workers: ${JSON.stringify(result)}`);
    } catch (error) {
      if (!isRedisUnavailableError(error)) this.logger.error(`recovery failed: ${(error as Error).message}`);
    }
  }

  private async reportDepth(): Promise<void> {
    try {
      await this.queue.reportDepth();
      this.metrics.queueOldestPendingAge.set(await this.queue.oldestPendingSeconds());
    } catch {
      // Redis away: readiness reports it; the gauge keeps its last value.
    }
  }
}
