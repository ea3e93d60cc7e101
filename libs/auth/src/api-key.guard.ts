import { CanActivate, ExecutionContext, HttpException, HttpStatus, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { PUBLIC_ROUTE } from '@relay/access';
import { ErrorCode, RelayError } from '@relay/errors';
import { auditPermissionDenied, requestFacts, type AuditableRequest } from '@relay/workspace';
import { REQUIRED_SCOPES } from './auth.decorators.js';
import { FailedAuthLimiter } from './failed-auth.limiter.js';
import { scopesFitWorkspace } from './operator-key.js';
import { authorizationHeader, bearerToken, type HeaderBearingRequest } from './presented-key.js';
import type { AuthenticatedRequest } from './principal.js';
import type { Scope } from './scopes.js';

const MISSING_KEY = 'missing API key: send Authorization: Bearer <key>';

/**
 * Global guard, deny by default: every route needs a valid API key in the
 * `Authorization: Bearer` header unless marked @Public(). A key anywhere else
 * (query string, body) is never looked at. Missing, unknown or revoked key:
 * 401; an Authorization header that does not verify counts against the
 * client address, which gets 429 once it has failed too often
 * (FailedAuthLimiter); two Authorization headers: 400; key without a
 * required scope: 403, logged for audit. Tenant routes need tenant scopes
 * and the console needs the operator scope, which no key holds together
 * (scopes.ts), so each kind of key is 403 on the other's routes.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly failures: FailedAuthLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;

    const request = context.switchToHttp().getRequest<AuthenticatedRequest & AuditableRequest & HeaderBearingRequest & { ip?: string }>();
    const authorization = authorizationHeader(request);
    // No header at all is no attempt to authenticate: refused at no cost, and not counted as a failure.
    if (authorization === undefined) throw new RelayError(ErrorCode.Unauthenticated, MISSING_KEY);
    const key = bearerToken(authorization);
    const { principal, retryAfterSeconds } = await this.failures.authenticate(request.ip ?? '', key);
    if (retryAfterSeconds !== undefined) {
      context.switchToHttp().getResponse<{ setHeader(name: string, value: string): void }>().setHeader('Retry-After', String(retryAfterSeconds));
      throw new HttpException('too many failed authentications from this address; retry after the Retry-After delay', HttpStatus.TOO_MANY_REQUESTS);
    }
    if (!principal) throw new RelayError(ErrorCode.Unauthenticated, key ? 'invalid or revoked API key' : MISSING_KEY);
    request.principal = principal;

    const required = this.reflector.getAllAndOverride<Scope[]>(REQUIRED_SCOPES, targets) ?? [];
    // A key whose scopes do not fit its workspace (only a record edited by hand) is held to have none of them.
    const granted = scopesFitWorkspace(principal.workspaceId, principal.scopes) ? principal.scopes : [];
    const missing = required.filter((s) => !granted.includes(s));
    if (missing.length > 0) {
      auditPermissionDenied(requestFacts(request), principal, { reason: 'missing_scope', missing_scopes: missing });
      throw new RelayError(ErrorCode.Forbidden, `API key lacks scope ${missing.join(', ')}`);
    }
    return true;
  }
}
