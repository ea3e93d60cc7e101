export { ACTION_ID_PATTERN, decide, matchesAny, parsePermissionRules, type Decision, type PermissionRules } from './permission-rules.js';
export { PermissionsService } from './permissions.service.js';
export { PermissionsModule } from './permissions.module.js';
export { redactSecrets, REDACTED } from './redact.js';
