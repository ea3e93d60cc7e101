import { Module } from '@nestjs/common';
import { PermissionsModule } from '@relay/permissions';
import { EventReadingModule, QueueModule } from '@relay/queue';
import { WorkspaceModule } from '@relay/workspace';
import { JobsController } from './jobs.controller.js';
import { JobWaiter } from './job-waiter.js';
import { JobsService } from './jobs.service.js';

@Module({ imports: [QueueModule, EventReadingModule, PermissionsModule, WorkspaceModule], controllers: [JobsController], providers: [JobsService, JobWaiter] })
export class JobsModule {}
