import { ErrorCode, RelayError } from '@relay/errors';

/**
 * The one canonical workspace-id check, used at every entry (API keys, HTTP
 * requests, queue methods, backfill). Anchored at both ends: the whole string
 * must match, so `acme\n` or `acme:x` never pass as `acme`.
 */
export const WORKSPACE_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;

export function isValidWorkspaceId(value: unknown): value is string {
  return typeof value === 'string' && WORKSPACE_ID_PATTERN.test(value);
}

/** Invalid input wherever it comes from (a request, an operator's option, a record). */
export class InvalidWorkspaceIdError extends RelayError {
  constructor(value: unknown) {
    super(ErrorCode.InvalidInput, `invalid workspace id ${JSON.stringify(String(value).slice(0, 64))}`);
    this.name = 'InvalidWorkspaceIdError';
  }
}

/** Returns the id unchanged when valid; throws InvalidWorkspaceIdError otherwise. */
export function assertWorkspaceId(value: unknown): string {
  if (!isValidWorkspaceId(value)) throw new InvalidWorkspaceIdError(value);
  return value;
}
