import { REDACTED, type SecretRedactor } from '@relay/permissions';
import type { Job, JobSummary } from '@relay/queue';
import type { CancelledJobView, JobSummaryView, JobView } from './dto/job-responses.dto.js';
import type { CancelResult } from './cancel-wait.js';

/** The API's shape of a job: snake_case, params (and results, which may echo them) redacted at any depth. */
export function jobView(job: Job, redactor: SecretRedactor): JobView {
  // Params that are not JSON (a predecessor's record) cannot be redacted field by field: hide them.
  return { ...summaryView(job, redactor), params: typeof job.params === 'string' ? REDACTED : redactor.redact(job.params) };
}

/** The answer to a cancel: the job and what the cancel came to. */
export function cancelledView(result: CancelResult, redactor: SecretRedactor): CancelledJobView {
  return { ...jobView(result.job, redactor), cancel: result.cancel };
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
    progress: job.progress,
    progress_message: job.progressMessage,
    // Only on list items whose result was too large for a page (LIST_RESULT_MAX_BYTES): GET /ai/jobs/{id} has it.
    ...('resultOmitted' in job && job.resultOmitted ? { result_omitted: true } : {}),
  };
}
