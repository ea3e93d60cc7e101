/**
 * Domain error codes. Libraries throw RelayError with one of these; only the
 * API's exception filter turns a code into an HTTP status.
 */
export enum ErrorCode {
  InvalidInput = 'INVALID_INPUT',
  Unauthenticated = 'UNAUTHENTICATED',
  Forbidden = 'FORBIDDEN',
  NotFound = 'NOT_FOUND',
  Conflict = 'CONFLICT',
  IdempotencyMismatch = 'IDEMPOTENCY_MISMATCH',
  Unavailable = 'UNAVAILABLE',
}

export class RelayError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Field-level messages for InvalidInput; safe to show to the client. */
    readonly details: string[] = [],
  ) {
    super(message);
    this.name = 'RelayError';
  }
}

export const invalidInput = (...details: string[]) =>
  new RelayError(ErrorCode.InvalidInput, details.join('; ') || 'invalid input', details);
export const notFound = (what: string) => new RelayError(ErrorCode.NotFound, `${what} not found`);
