export { JOB_STATUSES, FINAL_STATUSES, JOB_ID_PATTERN, isJobStatus, type Job, type JobStatus } from './job-record.js';
export { JobStore, type NewJob, type CreateRequest, type CreateOutcome, type ListQuery, type ListPage, type JobSummary } from './job-store.js';
export { RedisJobStore, StorageRefusedError, IDEMPOTENCY_TTL_SECONDS } from './redis-job-store.js';
export { selectStorageStrategy, copiesFor, canaryBucket, FlagCombinationError, type StorageStrategy, type MigrationFlags, type ReadRouting } from './storage-strategy.js';
export { jobStoreProvider, migrationFlags } from './job-store.provider.js';
export { encodeCursor, decodeCursor } from './list-cursor.js';
export { indexMember } from './index-member.js';
export { QueueModule } from './queue.module.js';
export { LegacyIndexer, type IndexSweepResult } from './legacy-indexer.js';
