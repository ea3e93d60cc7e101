import type { ClaimedJob } from '@relay/queue';

/** A prefetched job: leased to this worker, still pending until it starts here. */
export interface Prefetched {
  job: ClaimedJob;
  /** When the lease was last known held, by this process's clock. */
  leaseHeldAt: number;
}

/**
 * WORKER_PREFETCH (SchedulingSettings.prefetch): claimed-but-not-started
 * jobs, oldest first, started by the consumer the moment a slot frees; and
 * the count of those asked for by calls not yet answered, so that refills
 * never overshoot WORKER_PREFETCH.
 */
export class PrefetchBuffer {
  private readonly held: Prefetched[] = [];
  /** Prefetched jobs asked for by calls not yet answered. */
  private inFlight = 0;

  constructor(private readonly size: number) {}

  get length(): number {
    return this.held.length;
  }

  /** How many more jobs to prefetch: WORKER_PREFETCH less those held and those already asked for. */
  wanted(): number {
    return Math.max(0, this.size - this.held.length - this.inFlight);
  }

  /** A call asks for `count` jobs to hold. */
  asked(count: number): void {
    this.inFlight += count;
  }

  /** The call that asked for `count` is answered (or failed): what it brought is held, or never comes. */
  answered(count: number): void {
    this.inFlight -= count;
  }

  hold(job: ClaimedJob, leaseHeldAt: number): void {
    this.held.push({ job, leaseHeldAt });
  }

  /** The job held longest, taken out to start (or to drop). */
  takeOldest(): Prefetched | undefined {
    return this.held.shift();
  }

  /** Every job held, taken out (shutdown releases them). */
  takeAll(): ClaimedJob[] {
    return this.held.splice(0).map((p) => p.job);
  }

  /** The held job of this queue entry, taken out; undefined if none is held. */
  take(entry: string): Prefetched | undefined {
    const at = this.held.findIndex((p) => p.job.entry === entry);
    return at >= 0 ? this.held.splice(at, 1)[0] : undefined;
  }

  /** The jobs held now, whose leases a renewal extends (a copy: the buffer changes while it is out). */
  snapshot(): Prefetched[] {
    return [...this.held];
  }

  /**
   * A renewal of `renewed` (a snapshot) has answered: the leases it kept are held as of `attemptedAt`;
   * a job whose lease was lost is dropped, if it is still held (not started or dropped meanwhile).
   */
  renewed(renewed: readonly Prefetched[], lost: ReadonlySet<string>, attemptedAt: number): void {
    for (const p of renewed) {
      if (!lost.has(p.job.entry)) p.leaseHeldAt = attemptedAt;
      else if (this.held.includes(p)) this.held.splice(this.held.indexOf(p), 1);
    }
  }
}
