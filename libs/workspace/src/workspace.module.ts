import { Module } from '@nestjs/common';
import { SameWorkspaceGuard } from './same-workspace.guard.js';

@Module({ providers: [SameWorkspaceGuard], exports: [SameWorkspaceGuard] })
export class WorkspaceModule {}
