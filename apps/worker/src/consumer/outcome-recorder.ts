import { performance } from 'node:perf_hooks';
import type { Logger } from '@nestjs/common';
import { isRedisUnavailableError } from '@relay/redis';
import type { AttemptOutcome, FinishItem, FinishResult } from '@relay/queue';
import type { RelayMetrics } from '@relay/telemetry';
import type { AttemptLog } from './attempt-log.js';
import type { ConsumerMetrics } from './consumer-metrics.js';
import type { RunningJob } from './running-jobs.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface OutcomeRecorderDeps {
  /** The tick's shared finish call (FinishBatcher.submit), which also claims jobs for the freed slots. */
  submit: (item: FinishItem) => Promise<FinishResult>;
  /** WORKER_LEASE_MS: how long a finish is retried while Redis is away. */
  leaseMs: number;
  /** The worker is shutting down. */
  stopping: () => boolean;
  metrics: RelayMetrics;
  counts: ConsumerMetrics;
  attemptLog: AttemptLog;
  /** The consumer's logger: these lines are the consumer's. */
  logger: Logger;
}

/** Writes an ended attempt's outcome, and logs and counts what was recorded. */
export class OutcomeRecorder {
  constructor(private readonly deps: OutcomeRecorderDeps) {}

  /**
   * Writes the outcome and claims the next job for the freed slot in the same
   * round trip; retries while Redis is away for up to one lease, after which
   * the job is re-delivered.
   */
  async record(running: RunningJob, outcome: AttemptOutcome): Promise<void> {
    const { submit, metrics, counts, attemptLog, logger } = this.deps;
    const { job } = running;
    const durationMs = performance.now() - running.startedAt;
    // Stopped by the shutdown: released, not recorded. (An attempt stopped for its cancel is recorded even then.)
    const stoppedByShutdown = this.deps.stopping() && running.control.stopped && !running.control.cancelled;
    if (running.lostLease || running.cancelledBeforeStart || stoppedByShutdown) return attemptLog.ended(job, undefined, durationMs);
    running.finishing = true;
    const deadline = Date.now() + this.deps.leaseMs;
    // After a try whose answer never came, Redis may have run it: the next try says so (repeat).
    let repeat = false;
    for (let wait = 100; ; wait = Math.min(1000, wait * 2)) {
      try {
        const result = await submit({ job, outcome, repeat, unconfirmedStart: running.startUnconfirmed });
        if (result === 'cancelled' && running.startUnconfirmed) {
          // Cancelled while it was prefetched, before its start reached Redis: the outcome is not written.
          logger.warn(`job ${job.jobId}: cancelled before its start was recorded; outcome dropped`);
          return attemptLog.ended(job, undefined, durationMs);
        }
        if (result === 'lost') {
          metrics.leaseLosses.inc({ reason: 'lost_on_finish' });
          logger.warn(`job ${job.jobId}: lease lost before the outcome was written; another worker has it`);
        }
        // 'cancelled': a retry the finish recorded as cancelled (the cancel was requested meanwhile).
        const recorded = result === 'done' ? outcome : result === 'cancelled' ? ({ outcome: 'cancelled' } as const) : undefined;
        if (recorded) counts.countOutcome(job, recorded);
        attemptLog.ended(job, recorded?.outcome, durationMs);
        return;
      } catch (error) {
        if (!isRedisUnavailableError(error) || Date.now() > deadline) {
          metrics.statusUpdateFailures.inc({ reason: isRedisUnavailableError(error) ? 'redis_unavailable' : 'error' });
          logger.error(`job ${job.jobId}: outcome not recorded (${(error as Error).message}); it will be delivered again`);
          return attemptLog.ended(job, undefined, durationMs);
        }
        repeat = true;
        await sleep(wait);
      }
    }
  }
}
