/**
 * The one canonical workspace-id check, used at every entry (API keys, HTTP
 * requests, queue methods, backfill). Anchored at both ends: the whole string
 * must match, so `acme\n` or `acme:x` never pass as `acme`.
 */
export const WORKSPACE_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;

export function isValidWorkspaceId(value: unknown): value is string {
  return typeof value === 'string' && WORKSPACE_ID_PATTERN.test(value);
}

export class InvalidWorkspaceIdError extends Error {
  readonly code = 'INVALID_WORKSPACE_ID';
  constructor(value: unknown) {
    super(`invalid workspace id ${JSON.stringify(String(value).slice(0, 64))}`);
    this.name = 'InvalidWorkspaceIdError';
  }
}

/** Returns the id unchanged when valid; throws InvalidWorkspaceIdError otherwise. */
export function assertWorkspaceId(value: unknown): string {
  if (!isValidWorkspaceId(value)) throw new InvalidWorkspaceIdError(value);
  return value;
}
