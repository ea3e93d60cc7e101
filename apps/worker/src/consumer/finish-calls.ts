import { FinishBatcher, finishBatchSize, type ClaimedJob, type FinishItem, type FinishResult, type WorkQueue } from '@relay/queue';
import type { ClaimRequests } from './claim-requests.js';
import type { ConsumerMetrics } from './consumer-metrics.js';
import type { RunningJobs } from './running-jobs.js';

export interface FinishCallsDeps {
  queue: WorkQueue;
  /** WORKER_CONCURRENCY, SchedulingSettings.prefetch (WORKER_PREFETCH) and JOB_RETENTION_SECONDS. */
  concurrency: number;
  prefetch: number;
  retentionSeconds: number;
  running: RunningJobs;
  claims: ClaimRequests;
  counts: ConsumerMetrics;
  /** The worker is shutting down. */
  stopping: () => boolean;
  /** Starts a job a call claimed (without prefetch: each claimed job starts). */
  start: (job: ClaimedJob) => void;
  /** Takes the jobs a call claimed with prefetch (started, or held), their leases held as of `leaseHeldAt`. */
  take: (claimed: readonly ClaimedJob[], leaseHeldAt: number) => void;
}

/**
 * The finish calls: outcomes (and, with prefetch, starts) of one tick share
 * one script call, which also claims jobs for the freed slots.
 */
export class FinishCalls {
  private readonly batcher: FinishBatcher;

  constructor(private readonly deps: FinishCallsDeps) {
    const { concurrency, prefetch } = deps;
    // With prefetch, jobs run on while a call is out, so outcomes gather: at most two calls out at once.
    this.batcher = new FinishBatcher(
      (items) => this.finishAndClaim(items),
      prefetch > 0 ? concurrency + prefetch : finishBatchSize(concurrency),
      prefetch > 0 ? 2 : Infinity,
    );
  }

  /** Sends the item with the tick's others; answers with its result (rejects if the call failed). */
  submit(item: FinishItem): Promise<FinishResult> {
    return this.batcher.submit(item);
  }

  /**
   * One script call: a batch of outcomes, and as many next jobs claimed for the freed slots. A
   * repeated outcome claims nothing: its first try may have claimed already, in a reply that was lost.
   */
  private async finishAndClaim(items: FinishItem[]): Promise<FinishResult[]> {
    if (this.deps.prefetch > 0) return this.finishAndPrefetch(items);
    const fresh = items.filter((item) => !item.repeat).length;
    // Always with the scheduling settings, claiming or not: they say whether running counts are kept (to lower).
    const next = this.deps.claims.options(this.deps.stopping() ? 0 : fresh);
    const { results, claimed } = await this.deps.queue.finishMany(items, this.deps.retentionSeconds, next);
    for (const job of claimed) this.deps.start(job);
    return results;
  }

  /**
   * With prefetch: the call writes starts and outcomes, claims jobs to start in the slots no
   * prefetched job filled, and refills the prefetched ones. A start written here is confirmed.
   */
  private async finishAndPrefetch(items: FinishItem[]): Promise<FinishResult[]> {
    const { running, counts } = this.deps;
    const call = this.deps.claims.callOut(this.deps.stopping() ? 0 : Math.max(0, running.free()));
    const sentAt = Date.now();
    try {
      const { results, claimed, at } = await this.deps.queue.finishMany(items, this.deps.retentionSeconds, call.options);
      items.forEach((item, i) => {
        const attempt = running.get(item.job.entry);
        if (!attempt || attempt.job !== item.job || !(item.outcome.outcome === 'start' || item.unconfirmedStart) || results[i] !== 'done') return;
        if (attempt.startUnconfirmed) {
          attempt.startUnconfirmed = false;
          item.job.startedAt = at;
          counts.observeWait(item.job);
        }
        attempt.leaseHeldAt = sentAt;
      });
      call.answered();
      this.deps.take(claimed, sentAt);
      return results;
    } catch (error) {
      call.answered();
      throw error;
    }
  }
}
