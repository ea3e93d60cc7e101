import { performance } from 'node:perf_hooks';
import type { ClaimedJob } from '@relay/queue';
import { AttemptControl } from './attempt-control.js';

/** An attempt this worker runs, from its start until its outcome is written (or given up). */
export interface RunningJob {
  job: ClaimedJob;
  control: AttemptControl;
  lostLease: boolean;
  /** The attempt has ended and its outcome is being written: the finish ends the lease, not a renewal. */
  finishing: boolean;
  /** When the lease was last known held (claim or successful renewal), by this process's clock. */
  leaseHeldAt: number;
  /** performance.now() when the attempt started, for its log line. */
  startedAt: number;
  /** Its action has ended: its slot is free (the outcome may still be being written). */
  actionEnded: boolean;
  /** A prefetched job started here whose start no reply has confirmed yet (the finish writes it if need be). */
  startUnconfirmed: boolean;
  /** Cancelled (or gone) while it was prefetched: stopped, its lease ended by Redis, nothing to write. */
  cancelledBeforeStart: boolean;
  done: Promise<void>;
}

/**
 * The record of an attempt starting now, its lease held as of `leaseHeldAt`. A job a claim started
 * has its startedAt; a prefetched one starting here has none until a reply confirms its start.
 * `done` is the caller's to set, once the attempt runs.
 */
export function startingJob(job: ClaimedJob, leaseHeldAt: number): RunningJob {
  return {
    job,
    control: new AttemptControl(),
    lostLease: false,
    finishing: false,
    leaseHeldAt,
    startedAt: performance.now(),
    actionEnded: false,
    startUnconfirmed: !job.startedAt,
    cancelledBeforeStart: false,
    done: Promise.resolve(),
  };
}

/**
 * The running-jobs table (by queue entry) and the WORKER_CONCURRENCY slots
 * it fills. The claim loop waits here for a slot to free.
 */
export class RunningJobs {
  private readonly byEntry = new Map<string, RunningJob>();
  /** Free slots that a call not yet answered claims jobs to start in (so two calls never fill one slot). */
  private reserved = 0;
  private slotFreed?: () => void;

  /**
   * `freeWhenActionEnds` (with prefetch): a slot frees when its action ends, not when its outcome
   * has been written.
   */
  constructor(
    private readonly concurrency: number,
    private readonly freeWhenActionEnds: boolean,
  ) {}

  get size(): number {
    return this.byEntry.size;
  }

  get(entry: string): RunningJob | undefined {
    return this.byEntry.get(entry);
  }

  /** A copy: the table changes while its callers await. */
  all(): RunningJob[] {
    return [...this.byEntry.values()];
  }

  add(running: RunningJob): void {
    this.byEntry.set(running.job.entry, running);
  }

  /** The attempt is over (outcome written or given up): its slot frees, and the claim loop wakes. */
  remove(entry: string): void {
    this.byEntry.delete(entry);
    this.wake();
  }

  /** `slots` free slots are promised to a call not yet answered. */
  reserve(slots: number): void {
    this.reserved += slots;
  }

  /** The call is answered (or failed): its reserved slots are counted as free (or filled) again. */
  unreserve(slots: number): void {
    this.reserved -= slots;
  }

  /**
   * Free slots: without prefetch a slot stays taken until its outcome is written (the finish call
   * claims its next job); with prefetch, from the moment its action ends.
   */
  free(): number {
    if (!this.freeWhenActionEnds) return this.concurrency - this.byEntry.size;
    let busy = this.reserved;
    for (const r of this.byEntry.values()) if (!r.actionEnded) busy++;
    return this.concurrency - busy;
  }

  /** Resolves at the next remove() or wake(). */
  slotFrees(): Promise<void> {
    return new Promise<void>((resolve) => (this.slotFreed = resolve));
  }

  /** Wakes the claim loop's wait for a slot (a slot freed, or the worker is stopping). */
  wake(): void {
    this.slotFreed?.();
  }
}
