import type { Scope } from './scopes.js';

/** Who is calling: derived from the API key, never from the request. */
export interface Principal {
  keyId: string;
  workspaceId: string;
  actorId: string;
  scopes: readonly Scope[];
}

export interface AuthenticatedRequest {
  principal?: Principal;
}
