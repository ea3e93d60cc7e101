import { Module } from '@nestjs/common';
import { LegacyIndexer } from './migration/legacy-indexer.js';
import { QueueScripts } from './scripts/queue-scripts.js';
import { jobStoreProvider } from './store/job-store.provider.js';
import { JobStore } from './store/job-store.js';
import { WorkQueue } from './work/work-queue.js';

/**
 * The queue library: the store (JobStore, chosen by the flag-keyed factory),
 * the worker's queue, the legacy indexer, and the scripts they all run
 * (QueueScripts, one instance per application).
 */
@Module({
  providers: [QueueScripts, jobStoreProvider, LegacyIndexer, WorkQueue],
  exports: [QueueScripts, JobStore, LegacyIndexer, WorkQueue],
})
export class QueueModule {}
