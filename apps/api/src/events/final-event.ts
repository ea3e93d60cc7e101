import type { SecretRedactor } from '@relay/permissions';
import { FINAL_STATUSES, type EventPayload, type Job } from '@relay/queue';

export const isFinalJob = (job: Job) => FINAL_STATUSES.includes(job.status);

/** When a finished job finished, in ms (its updated_at for a record without finished_at). */
export const finishedAtMs = (job: Job) => Date.parse(job.finishedAt ?? job.updatedAt) || 0;

/**
 * A final job's final event, made up from its record when the stream no
 * longer holds the real one (trimmed by length or age): the event a job
 * in that state emits, with `synthesized: true`. A failed job's is
 * `failed`, whether or not its last failure was announced as
 * `dead_lettered`; a cancelled job's carries no `reason` (the record does
 * not keep one). The result is redacted as GET /ai/jobs/{id} shows it.
 */
export function synthesizedFinalEvent(job: Job, redactor: SecretRedactor): EventPayload {
  const payload: EventPayload = {
    type: job.status,
    job_id: job.jobId,
    action: job.action,
    status: job.status,
    attempt: job.attempts,
    at: job.finishedAt ?? job.updatedAt,
  };
  if (job.status === 'succeeded') payload.result = redactor.redact(job.result);
  if (job.status === 'failed' && job.error !== null) payload.error = job.error;
  payload.synthesized = true;
  return payload;
}
