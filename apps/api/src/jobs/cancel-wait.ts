import type { Job, JobStore } from '@relay/queue';
import { FINAL_STATUSES } from '@relay/queue';

/** What a cancel came to: cancelled (at once or within the wait), finished first (succeeded or failed), or still running after the wait. */
export type CancelResult = { cancel: 'cancelled' | 'finished_first' | 'requested'; job: Job };

/** A running job's worker hears of a cancel within a lease renewal (WORKER_LEASE_MS / 3); the margin covers its finish. */
const WAIT_MARGIN_MS = 1000;
const FIRST_LOOK_MS = 10;
const LOOK_EVERY_MAX_MS = 200;

/**
 * How long a cancel of a running job waits for it to end: CANCEL_WAIT_MS,
 * never more than a renewal interval and the margin (waiting longer could
 * not see more than the 202 says).
 */
export function cancelWaitMs(cancelWaitMs: number, workerLeaseMs: number): number {
  return Math.min(cancelWaitMs, Math.floor(workerLeaseMs / 3) + WAIT_MARGIN_MS);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * After a cancel request for a running job: reads the job (every 10 ms at
 * first, backing off to every 200 ms) until it is final or `waitMs` have
 * passed. A job found pending again (a worker of an earlier release retried
 * it without knowing of the request) is cancelled then.
 */
export async function awaitCancelled(store: JobStore, workspaceId: string, requested: Job, waitMs: number): Promise<CancelResult> {
  const deadline = Date.now() + waitMs;
  let job = requested;
  for (let pause = FIRST_LOOK_MS; Date.now() < deadline; pause = Math.min(LOOK_EVERY_MAX_MS, pause * 2)) {
    await sleep(Math.min(pause, Math.max(0, deadline - Date.now())));
    const now = await store.get(workspaceId, job.jobId);
    // Expired meanwhile (a retention shorter than the wait): what was last seen stands.
    if (!now) break;
    job = now;
    if (job.status === 'cancelled') return { cancel: 'cancelled', job };
    if (FINAL_STATUSES.includes(job.status)) return { cancel: 'finished_first', job };
    if (job.status === 'pending') {
      const again = await store.cancel(workspaceId, job.jobId);
      if (again.outcome === 'cancelled') return { cancel: 'cancelled', job: again.job };
    }
  }
  return { cancel: 'requested', job };
}
