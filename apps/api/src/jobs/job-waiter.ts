import { Injectable } from '@nestjs/common';
import { EventHub, EventLog, FINAL_STATUSES, JobStore, isFinalEventType, type Job } from '@relay/queue';

export const WAIT_MAX_SECONDS = 30;

const isFinal = (job: Job) => FINAL_STATUSES.includes(job.status);

/**
 * GET /ai/jobs/{id}?wait=N: the job as soon as it is final, or as it is
 * after N seconds. The stream position is read before the job, so a final
 * event that comes between the two is not missed; the wait is a
 * subscription of the process's EventHub (no Redis connection of its own),
 * filtered to the job, and the job is read again when it ends.
 */
@Injectable()
export class JobWaiter {
  constructor(
    private readonly hub: EventHub,
    private readonly log: EventLog,
    private readonly store: JobStore,
  ) {}

  /** Undefined when there is no such job in the workspace. `cancelled` (the client left) ends the wait early. */
  async waitFor(workspaceId: string, jobId: string, waitMs: number, cancelled?: AbortSignal): Promise<Job | undefined> {
    const after = await this.log.now(workspaceId);
    const job = await this.store.get(workspaceId, jobId);
    if (!job || isFinal(job) || waitMs <= 0) return job;
    await new Promise<void>((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        cancelled?.removeEventListener('abort', finish);
        subscription.unsubscribe();
        resolve();
      };
      const timer = setTimeout(finish, waitMs);
      cancelled?.addEventListener('abort', finish);
      const subscription = this.hub.subscribe(workspaceId, after, {
        events: (events) => {
          if (events.some((e) => e.jobId === jobId && isFinalEventType(e.type))) finish();
        },
        // Its final event may have been trimmed before it was read: the record tells.
        reset: () => {
          this.store.get(workspaceId, jobId).then((now) => (!now || isFinal(now) ? finish() : undefined), () => undefined);
        },
        ended: finish,
      });
      if (cancelled?.aborted) finish();
    });
    return this.store.get(workspaceId, jobId);
  }
}
