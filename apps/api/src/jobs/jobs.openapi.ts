import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiParam, ApiResponse } from '@nestjs/swagger';
import { JOB_ID_PATTERN } from '@relay/queue';
import { ApiErrorResponses } from '../openapi/error-responses.js';
import { headerRef } from '../openapi/response-headers.js';
import { CLIENT_REQUEST_ID_PATTERN } from './dto/submit-job.dto.js';
import { SubmitPlanDto } from './dto/submit-plan.dto.js';
import { CancelledJobView, JobPageView, JobView, SubmittedJobView, SubmittedPlanView } from './dto/job-responses.dto.js';

/**
 * What the OpenAPI document says of each job route, beside the route's
 * scopes (ApiKeyRoute) and its DTOs' own decorators. One decorator per
 * route keeps the controller readable.
 */

const IDEMPOTENCY_KEY = ApiHeader({
  name: 'Idempotency-Key',
  required: false,
  description: 'Alias of `client_request_id`; sending both with different values is 400.',
  schema: { type: 'string', pattern: CLIENT_REQUEST_ID_PATTERN.source },
  example: 'order-4711-confirm',
});

const JOB_ID = ApiParam({ name: 'id', description: 'The job id.', schema: { type: 'string', pattern: JOB_ID_PATTERN.source }, example: '0f8e5c1a-3b1d-4c1e-9a55-2a7d0c4b9e11' });

/** 202 for a new submit and 200 for a replay of an earlier one: the same body, told apart by the status and Idempotent-Replayed. */
function submitAnswers(type: typeof SubmittedJobView | typeof SubmittedPlanView, created: Record<string, { $ref: string }>) {
  return applyDecorators(
    ApiResponse({ status: 202, description: 'Accepted: created and queued.', type, headers: created }),
    ApiResponse({ status: 200, description: 'A replay: the job(s) first created for this client_request_id.', type, headers: { 'Idempotent-Replayed': headerRef('Idempotent-Replayed') } }),
  );
}

export const SubmitJobDocs = () =>
  applyDecorators(
    ApiOperation({ operationId: 'submitJob', summary: 'Submit one action as a job' }),
    IDEMPOTENCY_KEY,
    submitAnswers(SubmittedJobView, { Location: headerRef('Location') }),
    ApiErrorResponses(400, 408, 410, 413, 415, 422),
  );

export const SubmitPlanDocs = () =>
  applyDecorators(
    ApiOperation({ operationId: 'submitPlan', summary: 'Submit several steps as jobs, all or none' }),
    // The route validates its body with PlanBodyPipe, so the body's type is named here.
    ApiBody({ type: SubmitPlanDto }),
    IDEMPOTENCY_KEY,
    submitAnswers(SubmittedPlanView, {}),
    ApiErrorResponses(400, 408, 410, 413, 415, 422),
  );

export const ListJobsDocs = () =>
  applyDecorators(
    ApiOperation({ operationId: 'listJobs', summary: "List the workspace's jobs, newest first", description: 'Pages follow `next_cursor`; no duplicates and no gaps across pages.' }),
    ApiResponse({ status: 200, description: 'One page.', type: JobPageView }),
    ApiErrorResponses(400),
  );

export const GetJobDocs = () =>
  applyDecorators(
    ApiOperation({ operationId: 'getJob', summary: 'Read one job, params and result redacted' }),
    JOB_ID,
    ApiResponse({ status: 200, description: 'The job.', type: JobView }),
    ApiErrorResponses(400, 404),
  );

export const CancelJobDocs = () =>
  applyDecorators(
    ApiOperation({
      operationId: 'cancelJob',
      summary: 'Cancel a job that has not finished',
      description:
        'A job that has not started (pending, delayed, waiting for a retry) is cancelled at once. Of a running job, the worker holding it is asked to stop it ' +
        "(its action's AbortSignal fires) and the answer waits up to CANCEL_WAIT_MS (default 5 s) for the job to end: `cancel` says how it ended. " +
        'A cancelled job is final: no retry (README "Cancelling a running job").',
    }),
    JOB_ID,
    ApiResponse({ status: 200, description: 'The job, cancelled (`cancel: "cancelled"`), or finished before the cancel reached it (`cancel: "finished_first"`).', type: CancelledJobView }),
    ApiResponse({ status: 202, description: 'The job still runs after the wait (`cancel: "requested"`): its worker stops it within WORKER_LEASE_MS / 3 unless it finishes first.', type: CancelledJobView }),
    ApiErrorResponses(400, 404, 409),
  );
