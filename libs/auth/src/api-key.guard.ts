import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { PUBLIC_ROUTE } from '@relay/access';
import { ErrorCode, RelayError } from '@relay/errors';
import { auditPermissionDenied, requestFacts, type AuditableRequest } from '@relay/workspace';
import { ApiKeyStore } from './api-key.store.js';
import { REQUIRED_SCOPES } from './auth.decorators.js';
import type { AuthenticatedRequest } from './principal.js';
import type { Scope } from './scopes.js';

/**
 * Global guard, deny by default: every route needs a valid API key in the
 * `Authorization: Bearer` header unless marked @Public(). A key anywhere else
 * (query string, body) is never looked at. Missing, unknown or revoked key:
 * 401; key without a required scope: 403, logged for audit.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyStore,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;

    const request = context.switchToHttp().getRequest<AuthenticatedRequest & AuditableRequest & { headers: Record<string, string | undefined> }>();
    const match = /^Bearer ([^\s]+)$/i.exec(request.headers.authorization ?? '');
    if (!match) throw new RelayError(ErrorCode.Unauthenticated, 'missing API key: send Authorization: Bearer <key>');
    const principal = await this.keys.verify(match[1]);
    if (!principal) throw new RelayError(ErrorCode.Unauthenticated, 'invalid or revoked API key');
    request.principal = principal;

    const required = this.reflector.getAllAndOverride<Scope[]>(REQUIRED_SCOPES, targets) ?? [];
    const missing = required.filter((s) => !principal.scopes.includes(s));
    if (missing.length > 0) {
      auditPermissionDenied(requestFacts(request), principal, { reason: 'missing_scope', missing_scopes: missing });
      throw new RelayError(ErrorCode.Forbidden, `API key lacks scope ${missing.join(', ')}`);
    }
    return true;
  }
}
