export { Scopes, REQUIRED_SCOPES } from './auth.decorators.js';
// Re-exported for the API's controllers: the guard and @Public() go together.
export { Public, PUBLIC_ROUTE } from '@relay/access';
export { SCOPES, TENANT_SCOPES, OPERATOR_SCOPE, isScope, type Scope } from './scopes.js';
export { OPERATOR_WORKSPACE, scopesFitWorkspace } from './operator-key.js';
export type { Principal, AuthenticatedRequest } from './principal.js';
export { API_KEY_PREFIX, hashApiKey, mintApiKey, parseKeyId } from './api-key.format.js';
export { ApiKeyStore, type ApiKeyRecord, type CreateApiKeyInput } from './api-key.store.js';
export { ApiKeyGuard } from './api-key.guard.js';
export { CurrentPrincipal } from './current-principal.decorator.js';
export { AuthModule } from './auth.module.js';
