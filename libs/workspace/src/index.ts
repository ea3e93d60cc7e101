export { WORKSPACE_ID_PATTERN, isValidWorkspaceId, assertWorkspaceId, InvalidWorkspaceIdError } from './workspace-id.js';
export { WorkspaceModule } from './workspace.module.js';
export { SameWorkspaceGuard } from './same-workspace.guard.js';
export { WorkspaceLimits, parseWorkspaceLimits, type Limits, type ScheduleOverride } from './workspace-limits.js';
export {
  auditPermissionDenied,
  auditWorkspaceViolation,
  CurrentRequestFacts,
  requestFacts,
  type AuditableRequest,
  type AuditedPrincipal,
  type PermissionDenial,
  type RequestFacts,
} from './security-audit.js';
