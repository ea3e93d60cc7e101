/**
 * `actions:*` are tenants' scopes: they act on the key's own workspace.
 * `relay:operator` is the operator console's: it reads every workspace's
 * queues and requeues dead letters. The two never meet on one key
 * (operator-key.ts), so a leaked tenant key can never reach the console and
 * an operator key can never submit or read jobs through tenant routes.
 */
export const TENANT_SCOPES = ['actions:execute', 'actions:preview'] as const;
export const OPERATOR_SCOPE = 'relay:operator';
export const SCOPES = [...TENANT_SCOPES, OPERATOR_SCOPE] as const;
export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}
