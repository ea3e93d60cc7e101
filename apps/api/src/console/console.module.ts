import { Module } from '@nestjs/common';
import { PermissionsModule } from '@relay/permissions';
import { MigrationModule, QueueModule } from '@relay/queue';
import { ConsoleApiController } from './console-api.controller.js';
import { ConsoleJobsService } from './console-jobs.service.js';
import { ConsoleOverviewService } from './console-overview.service.js';
import { ConsolePageController } from './console-page.controller.js';
import { MigrationStatusCache } from './migration-status.cache.js';
import { WorkspaceDiscovery } from './workspace-discovery.js';

/** The operator console at /console: a static page (public) and its data under /console/api (operator keys only). */
@Module({
  imports: [QueueModule, MigrationModule, PermissionsModule],
  controllers: [ConsolePageController, ConsoleApiController],
  providers: [ConsoleOverviewService, ConsoleJobsService, MigrationStatusCache, WorkspaceDiscovery],
})
export class ConsoleModule {}
