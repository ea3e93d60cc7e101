import { createParamDecorator, type ExecutionContext, Logger } from '@nestjs/common';
import { isValidWorkspaceId } from './workspace-id.js';

/**
 * The audit trail of refused requests: one structured warning (context
 * `SecurityAudit`) per 403 caused by a workspace claim that is not the API
 * key's, or by a permission the key or its workspace lacks. A line names who
 * asked (key id, actor, workspace), for what (route pattern, method, the
 * workspace claimed or the scopes/actions refused) and the request id the
 * client saw; never a body, params, or the key itself. Lines go to the
 * process log, at level warn, as JSON in the API (README "Privacy").
 */
const logger = new Logger('SecurityAudit');

/** Values of a repeated `workspace_id` query parameter written at most. */
const MAX_LISTED_CLAIMS = 4;

/** The request as the audit names it. */
export interface RequestFacts {
  request_id: string;
  method: string;
  /** The route pattern (`/ai/jobs/:id`), so a job id never reaches the line. */
  route: string;
}

/** Who made the request, as the API key says. */
export interface AuditedPrincipal {
  keyId: string;
  actorId: string;
  workspaceId: string;
}

/** What of an Express request the audit reads (structural, so this lib needs no HTTP types). */
export interface AuditableRequest {
  requestId?: string;
  method?: string;
  baseUrl?: string;
  route?: { path?: unknown };
}

export function requestFacts(request: AuditableRequest): RequestFacts {
  const route = request.route?.path === undefined ? 'unmatched' : `${request.baseUrl ?? ''}${String(request.route.path)}`;
  return { request_id: request.requestId ?? '', method: request.method ?? '', route };
}

/** The facts of the current HTTP request, for use-cases that audit their own refusals. */
export const CurrentRequestFacts = createParamDecorator((_: unknown, context: ExecutionContext): RequestFacts =>
  requestFacts(context.switchToHttp().getRequest<AuditableRequest>()),
);

/** A `workspace_id` in the query or body that is not the key's workspace. */
export function auditWorkspaceViolation(facts: RequestFacts, principal: AuditedPrincipal, claimed: unknown, source: 'query' | 'body'): void {
  logger.warn({
    event: 'workspace_violation',
    ...facts,
    key_id: principal.keyId,
    actor_id: principal.actorId,
    key_workspace_id: principal.workspaceId,
    requested_workspace_id: describeClaim(claimed),
    source,
  });
}

export type PermissionDenial =
  | { reason: 'missing_scope'; missing_scopes: readonly string[] }
  | { reason: 'denylisted' | 'not_allowlisted' | 'workspace_rule'; actions: readonly string[] };

/** A key without a scope the route requires, or an action the workspace may not run. */
export function auditPermissionDenied(facts: RequestFacts, principal: AuditedPrincipal, denial: PermissionDenial): void {
  logger.warn({
    event: 'permission_denied',
    ...facts,
    key_id: principal.keyId,
    actor_id: principal.actorId,
    workspace_id: principal.workspaceId,
    ...denial,
  });
}

/**
 * The claim as sent when it is a well-formed workspace id (another
 * workspace's); anything else is the client's free text, which may be
 * anything, a secret included, so only its shape is written. Repeated query
 * parameters give a list.
 */
function describeClaim(claimed: unknown): string | string[] {
  if (Array.isArray(claimed)) return claimed.slice(0, MAX_LISTED_CLAIMS).map(describeOne);
  return describeOne(claimed);
}

function describeOne(claimed: unknown): string {
  if (isValidWorkspaceId(claimed)) return claimed;
  if (typeof claimed === 'string') return `<invalid: ${claimed.length} characters>`;
  return `<${claimed === null ? 'null' : Array.isArray(claimed) ? 'array' : typeof claimed}>`;
}
