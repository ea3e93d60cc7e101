import { invalidInput } from '@relay/errors';

/** What the guard reads of a request's headers (Node's IncomingMessage has it). */
export interface HeaderBearingRequest {
  headersDistinct?: Record<string, string[] | undefined>;
}

/**
 * The request's one Authorization header, or undefined when it has none.
 * Node keeps only the first of repeated Authorization headers, so a request
 * with two (a proxy that appends its own, a client bug) would be served as
 * whichever came first; it is refused instead (400).
 */
export function authorizationHeader(request: HeaderBearingRequest): string | undefined {
  const values = request.headersDistinct?.authorization ?? [];
  if (values.length > 1) throw invalidInput('send one Authorization header, not several');
  return values[0];
}

/** The API key of an `Authorization: Bearer <key>` value, or undefined for any other value. */
export function bearerToken(authorization: string): string | undefined {
  return /^Bearer ([^\s]+)$/i.exec(authorization)?.[1];
}
