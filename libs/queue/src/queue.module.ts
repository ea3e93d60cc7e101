import { Module } from '@nestjs/common';
import { jobStoreProvider } from './job-store.provider.js';
import { JobStore } from './job-store.js';

@Module({ providers: [jobStoreProvider], exports: [JobStore] })
export class QueueModule {}
