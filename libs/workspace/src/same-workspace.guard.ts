import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { ErrorCode, RelayError } from '@relay/errors';

/** What this guard needs of a request: the workspace the API key belongs to. */
interface WorkspaceScopedRequest {
  principal?: { workspaceId: string };
  query?: Record<string, unknown>;
  body?: unknown;
}

/**
 * The workspace of a request comes from its API key only. A `workspace_id`
 * in the query or body that differs from the key's is refused (403) rather
 * than silently ignored, so a client bug cannot look like an empty workspace.
 * Runs after the auth guard; public routes carry no principal and pass.
 */
@Injectable()
export class SameWorkspaceGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<WorkspaceScopedRequest>();
    const own = request.principal?.workspaceId;
    if (own === undefined) return true;
    const claimed = [request.query?.workspace_id, bodyField(request.body, 'workspace_id')];
    for (const value of claimed) {
      if (value !== undefined && value !== own) {
        throw new RelayError(ErrorCode.Forbidden, 'workspace_id does not match the API key\'s workspace');
      }
    }
    return true;
  }
}

function bodyField(body: unknown, name: string): unknown {
  return body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>)[name] : undefined;
}
