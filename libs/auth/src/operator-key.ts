import { OPERATOR_SCOPE, type Scope } from './scopes.js';

/**
 * The workspace an operator key is recorded under. Keys carry a workspace,
 * and an operator belongs to none: this name fails the workspace-id pattern
 * (`^[a-z0-9]…`: it starts with `_`), so no tenant workspace can ever be
 * called that, no job or index can live under it (every store method checks
 * the pattern), and `relay keys create --workspace _operator` is refused.
 */
export const OPERATOR_WORKSPACE = '_operator';

/**
 * Whether a key's scopes may be honoured for its workspace: the operator
 * scope only on a key of the operator realm, tenant scopes only on a key of
 * a tenant workspace. The store never writes another combination; the guard
 * checks it again, so a key record edited by hand in Redis cannot lend
 * tenant rights to an operator key or console rights to a tenant's.
 */
export function scopesFitWorkspace(workspaceId: string, scopes: readonly Scope[]): boolean {
  const operator = workspaceId === OPERATOR_WORKSPACE;
  return scopes.every((scope) => (scope === OPERATOR_SCOPE) === operator);
}
