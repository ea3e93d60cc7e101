// The job model, shared by every part.
export { JOB_FIELDS, PROGRESS_FIELDS, JOB_STATUSES, FINAL_STATUSES, JOB_ID_PATTERN, isJobStatus, type Job, type JobStatus } from './job-record.js';
export { indexMember } from './index-member.js';
export { QueueModule } from './queue.module.js';
export { settledWithin } from './settled-within.js';
// scripts/: every Lua script behind one typed injectable.
export { QueueScripts, IDEMPOTENCY_TTL_SECONDS } from './scripts/queue-scripts.js';
export type {
  ClaimedJob,
  GivenUpJob,
  HeldBack,
  AttemptOutcome,
  FinishOutcome,
  FinishItem,
  FinishResult,
  ClaimOptions,
  NextClaim,
  SchedulingArgs,
  CreateScriptRequest,
  CreateScriptReply,
  RenewReply,
  ReleaseReply,
  ProgressResult,
} from './scripts/script-types.js';
export { NO_SCHEDULING_LIMITS, EVENT_RESULT_OMITTED } from './scripts/script-types.js';
// store/: the JobStore contract, its Redis implementation and the flag-keyed factory.
export { JobStore, type CancelOutcome, type NewJob, type JobDelay, type CreateRequest, type CreateOutcome, type ListQuery, type ListPage, type JobSummary } from './store/job-store.js';
export { RedisJobStore, StorageRefusedError, DEFAULT_LIST_RESULT_MAX_BYTES } from './store/redis-job-store.js';
export { SubmitWaitError } from './store/create-batcher.js';
export { selectStorageStrategy, copiesFor, canaryBucket, FlagCombinationError, type StorageStrategy, type MigrationFlags, type ReadRouting } from './store/storage-strategy.js';
export { jobStoreProvider, migrationFlags } from './store/job-store.provider.js';
export { encodeCursor, decodeCursor, CURSOR_RESTART_ADVICE } from './store/list-cursor.js';
// work/: the worker's side of the queue.
export { WorkQueue } from './work/work-queue.js';
export { readQueueDepth, QUEUE_STATES, QUEUE_ENTRIES_READ_MAX, type QueueDepth, type DepthReading } from './work/queue-depth.js';
export { findQueueWorkspaces, type QueueWorkspaces } from './work/queue-workspaces.js';
export { ActiveWorkspaces, LABELLED_DEPTH_WORKSPACES_MAX } from './work/active-workspaces.js';
export { ActionRateLimits, parseActionRateLimits, encodeRateRules, type ActionRateRule } from './work/action-rate-limits.js';
export { FinishBatcher, finishBatchSize } from './work/finish-batcher.js';
export { CancelChannel } from './work/cancel-channel.js';
// migration/: the operator's services and the legacy indexer.
export { LegacyIndexer, type IndexSweepResult } from './migration/legacy-indexer.js';
export { BackfillService, type BackfillOptions, type BackfillTotals } from './migration/backfill.service.js';
export { VerifyService, type VerifyReport } from './migration/verify.service.js';
export { CleanupService, CleanupRefusedError, type CleanupReport } from './migration/cleanup.service.js';
export { MigrationStatusService, type MigrationStatus } from './migration/migration-status.service.js';
export { MigrationModule } from './migration/migration.module.js';
// webhooks/: webhook endpoints and the delivery scripts the worker's delivery loop runs.
export { WebhooksModule } from './webhooks/webhooks.module.js';
export { WebhookStore, WEBHOOK_ID_PATTERN, WEBHOOK_URL_MAX_LENGTH, type WebhookEndpoint, type WebhookDeadLetter, type WebhookFailure } from './webhooks/webhook-store.js';
export {
  WebhookScripts,
  type ClaimedDelivery,
  type DeliveryFinish,
  type DeliveryOutcome,
  type DeliveryResult,
  type FanOutReply,
} from './webhooks/webhook-scripts.js';
export { eventBody, eventField } from './webhooks/webhook-event.js';
// events/: reading the job lifecycle event streams.
export { EVENT_TYPES, FINAL_EVENT_TYPES, isFinalEventType, parseEventEntry, eventPayload, type EventType, type RelayEvent, type EventPayload } from './events/relay-event.js';
export { STREAM_START, parseStreamId, compareStreamIds, previousStreamId, nextStreamId, positionBeforeMs, streamIdMs } from './events/stream-id.js';
export { EventLog, type EventBatch, type StreamReset } from './events/event-log.js';
export { EventHub } from './events/event-hub.js';
export { CATCH_UP_BUFFER_MAX, type EventSink, type EventSubscription, type EventStreamEnd } from './events/event-subscriber.js';
export { EventReadingModule } from './events/event-reading.module.js';
