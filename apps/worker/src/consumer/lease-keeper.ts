import type { Logger } from '@nestjs/common';
import { isRedisUnavailableError } from '@relay/redis';
import type { WorkQueue } from '@relay/queue';
import type { RelayMetrics } from '@relay/telemetry';
import type { PrefetchBuffer } from './prefetch-buffer.js';
import type { RunningJob, RunningJobs } from './running-jobs.js';

export type LeaseLossReason = 'lost_on_renewal' | 'not_renewed' | 'lost_on_start';

export interface LeaseKeeperDeps {
  queue: WorkQueue;
  /** WORKER_LEASE_MS. */
  leaseMs: number;
  running: RunningJobs;
  prefetched: PrefetchBuffer;
  metrics: RelayMetrics;
  /** The consumer's logger: these lines are the consumer's. */
  logger: Logger;
  /** A renewal named a job whose cancel was requested. */
  cancelRequested: (entry: string) => void;
}

/**
 * The leases of this worker's jobs, running and prefetched: renewed
 * together; a job whose lease is lost (or may have lapsed) is stopped here,
 * since another worker may run it.
 */
export class LeaseKeeper {
  constructor(private readonly deps: LeaseKeeperDeps) {}

  async renew(): Promise<void> {
    const { running, prefetched, leaseMs, logger } = this.deps;
    // A job whose outcome is being written is still renewed (its finish may be retried while Redis is
    // away), but a loss reported for it is no loss: its finish removed the lease.
    const held = running.all().filter((r) => !r.lostLease);
    const waiting = prefetched.snapshot();
    const attemptedAt = Date.now();
    try {
      const renewal = await this.deps.queue.renew([...held.map((r) => r.job), ...waiting.map((p) => p.job)], leaseMs);
      const lost = new Set(renewal.lost);
      prefetched.renewed(waiting, lost, attemptedAt);
      for (const r of held) {
        if (r.finishing) continue;
        if (lost.has(r.job.entry)) this.stop(r, 'lease lost; it runs elsewhere', 'lost_on_renewal');
        else r.leaseHeldAt = attemptedAt;
      }
      // The cancel channel's message may have been missed (pub/sub keeps nothing): the renewal is the fallback.
      for (const entry of renewal.cancelRequested) this.deps.cancelRequested(entry);
    } catch (error) {
      if (!isRedisUnavailableError(error)) logger.error(`lease renewal failed: ${(error as Error).message}`);
    }
    // Unable to renew (Redis away): once a lease may have expired, another
    // worker may run the job, so this one stops it rather than run it twice.
    for (const r of held) {
      if (!r.lostLease && !r.finishing && Date.now() - r.leaseHeldAt >= leaseMs) this.stop(r, 'lease not renewed in time', 'not_renewed');
    }
  }

  /** The attempt's lease is no longer this worker's: it is stopped, and its outcome will not be written. */
  stop(running: RunningJob, why: string, reason: LeaseLossReason): void {
    running.lostLease = true;
    this.deps.metrics.leaseLosses.inc({ reason });
    running.control.stop(new Error(why));
    this.deps.logger.warn(`job ${running.job.jobId}: ${why}; stopped here`);
  }
}
