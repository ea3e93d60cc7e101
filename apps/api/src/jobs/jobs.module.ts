import { Module } from '@nestjs/common';
import { PermissionsModule } from '@relay/permissions';
import { QueueModule } from '@relay/queue';
import { WorkspaceModule } from '@relay/workspace';
import { JobsController } from './jobs.controller.js';
import { JobsService } from './jobs.service.js';

@Module({ imports: [QueueModule, PermissionsModule, WorkspaceModule], controllers: [JobsController], providers: [JobsService] })
export class JobsModule {}
