export { RelayClient, type CancelledJob, type EventsOptions, type Job, type JobEvent, type JobPage, type JobStatus, type JobSummary, type ListQuery, type RelayClientOptions, type SubmitJobRequest, type SubmitPlanRequest, type Submitted } from './relay-client.js';
export { EventStreamProtocolError, type EventStreamOptions, type JobStreamEvent, type Reconnect, type ResetNotice, type ResetStreamEvent, type StreamEvent } from './event-stream.js';
export { RelayApiError, type ErrorBody } from './relay-api-error.js';
export { DEFAULT_RETRY, type RetryOptions } from './retry-policy.js';
export type { components, operations, paths } from './schema.js';
