import { Module } from '@nestjs/common';
import { jobStoreProvider } from './job-store.provider.js';
import { JobStore } from './job-store.js';
import { LegacyIndexer } from './legacy-indexer.js';

@Module({ providers: [jobStoreProvider, LegacyIndexer], exports: [JobStore, LegacyIndexer] })
export class QueueModule {}
