import { Module } from '@nestjs/common';
import { jobStoreProvider } from './job-store.provider.js';
import { JobStore } from './job-store.js';
import { LegacyIndexer } from './legacy-indexer.js';
import { WorkQueue } from './work-queue.js';

@Module({ providers: [jobStoreProvider, LegacyIndexer, WorkQueue], exports: [JobStore, LegacyIndexer, WorkQueue] })
export class QueueModule {}
