import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { ErrorCode, RelayError } from '@relay/errors';
import { type AuditableRequest, type AuditedPrincipal, auditWorkspaceViolation, requestFacts } from './security-audit.js';

/** What this guard needs of a request: the principal the API key gave it, and where a client may claim a workspace. */
interface WorkspaceScopedRequest extends AuditableRequest {
  principal?: AuditedPrincipal;
  query?: Record<string, unknown>;
  body?: unknown;
}

/**
 * The workspace of a request comes from its API key only. A `workspace_id`
 * in the query or body that differs from the key's is refused (403) rather
 * than silently ignored, so a client bug cannot look like an empty workspace,
 * and the refusal is logged for audit (security-audit.ts).
 * Runs after the auth guard; public routes carry no principal and pass.
 */
@Injectable()
export class SameWorkspaceGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<WorkspaceScopedRequest>();
    const principal = request.principal;
    if (principal === undefined) return true;
    const claims = [['query', request.query?.workspace_id], ['body', bodyField(request.body, 'workspace_id')]] as const;
    for (const [source, value] of claims) {
      if (value !== undefined && value !== principal.workspaceId) {
        auditWorkspaceViolation(requestFacts(request), principal, value, source);
        throw new RelayError(ErrorCode.Forbidden, 'workspace_id does not match the API key\'s workspace');
      }
    }
    return true;
  }
}

function bodyField(body: unknown, name: string): unknown {
  return body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>)[name] : undefined;
}
