import { Module } from '@nestjs/common';
import { QueueModule } from '../queue.module.js';
import { BackfillService } from './backfill.service.js';
import { CleanupService } from './cleanup.service.js';
import { MigrationStatusService } from './migration-status.service.js';
import { VerifyService } from './verify.service.js';

/** The operator's migration services (status, backfill, verify, cleanup); used by the CLI. */
@Module({
  imports: [QueueModule],
  providers: [BackfillService, VerifyService, CleanupService, MigrationStatusService],
  exports: [BackfillService, VerifyService, CleanupService, MigrationStatusService],
})
export class MigrationModule {}
