import { REDACTED, type SecretRedactor } from '@relay/permissions';
import type { Job, JobSummary } from '@relay/queue';
import type { JobSummaryView, JobView } from './dto/job-responses.dto.js';

/** The API's shape of a job: snake_case, params (and results, which may echo them) redacted at any depth. */
export function jobView(job: Job, redactor: SecretRedactor): JobView {
  // Params that are not JSON (a predecessor's record) cannot be redacted field by field: hide them.
  return { ...summaryView(job, redactor), params: typeof job.params === 'string' ? REDACTED : redactor.redact(job.params) };
}

/** A list item: no params. */
export function summaryView(job: JobSummary, redactor: SecretRedactor): JobSummaryView {
  return {
    job_id: job.jobId,
    workspace_id: job.workspaceId,
    actor_id: job.actorId,
    action: job.action,
    status: job.status,
    attempts: job.attempts,
    result: redactor.redact(job.result),
    error: job.error,
    client_request_id: job.clientRequestId,
    created_at: job.createdAt,
    updated_at: job.updatedAt,
    started_at: job.startedAt,
    finished_at: job.finishedAt,
    run_at: job.runAt,
    // Only on list items whose result was too large for a page (LIST_RESULT_MAX_BYTES): GET /ai/jobs/{id} has it.
    ...('resultOmitted' in job && job.resultOmitted ? { result_omitted: true } : {}),
  };
}
