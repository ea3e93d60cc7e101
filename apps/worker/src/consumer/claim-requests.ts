import type { ClaimOptions } from '@relay/queue';
import type { PrefetchBuffer } from './prefetch-buffer.js';
import type { RunningJobs } from './running-jobs.js';

export interface ClaimRequestsDeps {
  workerId: string;
  /** WORKER_LEASE_MS, JOB_MAX_ATTEMPTS and JOB_RETENTION_SECONDS, as every claim carries them. */
  leaseMs: number;
  maxAttempts: number;
  retentionSeconds: number;
  /** SchedulingSettings.claimArgs. */
  scheduling: ClaimOptions['scheduling'];
  running: RunningJobs;
  prefetched: PrefetchBuffer;
  /** The worker is shutting down. */
  stopping: () => boolean;
}

/** A call going out to claim: what it asks for, and the function to call once it is answered (or failed). */
export interface ClaimCall {
  options: ClaimOptions;
  answered: () => void;
}

/**
 * What the consumer's claims ask for (by the claim loop, or by a finish call
 * for the slots it frees): jobs to start now, and jobs to prefetch.
 */
export class ClaimRequests {
  constructor(private readonly deps: ClaimRequestsDeps) {}

  /** Claims `startNow` jobs to start at once and `prefetch` more to hold (leased, still pending). */
  options(startNow: number, prefetch = 0): ClaimOptions {
    return {
      max: startNow + prefetch,
      startNow,
      workerId: this.deps.workerId,
      leaseMs: this.deps.leaseMs,
      maxAttempts: this.deps.maxAttempts,
      retentionSeconds: this.deps.retentionSeconds,
      scheduling: this.deps.scheduling,
    };
  }

  /**
   * A call that claims `startNow` jobs for free slots, and as many to prefetch as are wanted (none once
   * stopping): both are counted as asked for until it is answered, so that no other call claims them again.
   */
  callOut(startNow: number): ClaimCall {
    const { running, prefetched } = this.deps;
    const prefetch = this.deps.stopping() ? 0 : prefetched.wanted();
    prefetched.asked(prefetch);
    running.reserve(startNow);
    return {
      options: this.options(startNow, prefetch),
      answered: () => {
        prefetched.answered(prefetch);
        running.unreserve(startNow);
      },
    };
  }
}
