export { WORKSPACE_ID_PATTERN, isValidWorkspaceId, assertWorkspaceId, InvalidWorkspaceIdError } from './workspace-id.js';
export { WorkspaceModule } from './workspace.module.js';
export { SameWorkspaceGuard } from './same-workspace.guard.js';
export { WorkspaceLimits, parseWorkspaceLimits, type Limits } from './workspace-limits.js';
