/**
 * Domain error codes: the one family of failures libraries raise. Each code
 * is mapped once to an HTTP status (the API's exception filter) and once to
 * an exit code (the CLI's runCli); nothing else branches on error classes.
 */
export enum ErrorCode {
  InvalidInput = 'INVALID_INPUT',
  Unauthenticated = 'UNAUTHENTICATED',
  Forbidden = 'FORBIDDEN',
  NotFound = 'NOT_FOUND',
  Conflict = 'CONFLICT',
  IdempotencyMismatch = 'IDEMPOTENCY_MISMATCH',
  /** A workspace quota would be exceeded (e.g. stored jobs). */
  QuotaExceeded = 'QUOTA_EXCEEDED',
  /** What the request names existed and has expired (e.g. the job of a client_request_id). */
  Gone = 'GONE',
  /** Redis did not answer in time. */
  Unavailable = 'UNAVAILABLE',
  /** This process has more work waiting than it takes (e.g. submits waiting for a Redis call): retry shortly. */
  Overloaded = 'OVERLOADED',
  /** Settings or flags that cannot work together; a process refuses to start. */
  InvalidConfiguration = 'INVALID_CONFIGURATION',
  /** An operator's precondition or check failed (e.g. cleanup before a clean verify). */
  CheckFailed = 'CHECK_FAILED',
  /** Storage refused a write (a key of another type in the way): a server-side fault. */
  StorageRefused = 'STORAGE_REFUSED',
}

export class RelayError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Field-level messages for InvalidInput; safe to show to the client. */
    readonly details: string[] = [],
    /** Extra fields of the error answer (e.g. the job id a 410 names); safe to show to the client. */
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'RelayError';
  }
}

export const invalidInput = (...details: string[]) =>
  new RelayError(ErrorCode.InvalidInput, details.join('; ') || 'invalid input', details);
export const notFound = (what: string) => new RelayError(ErrorCode.NotFound, `${what} not found`);
