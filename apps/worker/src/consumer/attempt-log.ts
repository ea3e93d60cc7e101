import { Logger } from '@nestjs/common';
import type { AttemptOutcome, ClaimedJob, GivenUpJob } from '@relay/queue';

/**
 * The worker's log of attempts: one line per attempt (job, workspace,
 * action, attempt number, outcome, duration) and one warning per dead
 * letter. Ids and names only: never params, results or error texts (an
 * action's error message may quote what it was given).
 */
export class AttemptLog {
  private readonly logger = new Logger('JobAttempt');

  /**
   * `recorded` is the outcome written on the job, or undefined when none
   * was: the lease was lost, the worker shut down, the record expired or
   * Redis stayed away. That attempt is logged `abandoned`; the job runs
   * again (or already runs) elsewhere. A failure recorded is final: the job
   * is a dead letter.
   */
  ended(job: ClaimedJob, recorded: AttemptOutcome['outcome'] | undefined, durationMs: number): void {
    this.logger.log({
      event: 'job_attempt',
      job_id: job.jobId,
      workspace_id: job.workspaceId,
      action: job.action,
      attempt: job.attempts,
      outcome: recorded ?? 'abandoned',
      duration_ms: Math.round(durationMs * 10) / 10,
    });
    // The entry is now on the dead-letter list (`relay dead list`).
    if (recorded === 'failed') {
      this.logger.warn({ event: 'job_dead_letter', job_id: job.jobId, workspace_id: job.workspaceId, action: job.action, attempts: job.attempts });
    }
  }

  /** Jobs a claim failed because their workers kept dying and their attempts are spent: dead letters too. */
  gaveUp(jobs: GivenUpJob[]): void {
    for (const job of jobs) {
      this.logger.warn({ event: 'job_dead_letter', job_id: job.jobId, workspace_id: job.workspaceId, action: job.action, attempts: job.attempts, reason: 'interrupted on every attempt' });
    }
  }
}
