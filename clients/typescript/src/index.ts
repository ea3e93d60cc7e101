export { RelayClient, type CancelledJob, type Job, type JobPage, type JobStatus, type JobSummary, type ListQuery, type RelayClientOptions, type SubmitJobRequest, type SubmitPlanRequest, type Submitted } from './relay-client.js';
export { RelayApiError, type ErrorBody } from './relay-api-error.js';
export { DEFAULT_RETRY, type RetryOptions } from './retry-policy.js';
export type { components, operations, paths } from './schema.js';
