import { Module } from '@nestjs/common';
import { SameWorkspaceGuard } from './same-workspace.guard.js';
import { WorkspaceLimits } from './workspace-limits.js';

@Module({ providers: [SameWorkspaceGuard, WorkspaceLimits], exports: [SameWorkspaceGuard, WorkspaceLimits] })
export class WorkspaceModule {}
