import { ErrorCode, RelayError } from '@relay/errors';

/**
 * True for errors that mean "Redis did not answer" (not connected, connection
 * dropped, timed out, or a Relay error with code Unavailable, such as a
 * submit that could not be handed to Redis in time), as opposed to an error
 * reply from a live server. Replies that mean "not now" count too: a server
 * loading or busy, a replica that was the primary before a failover
 * (READONLY: the client reconnects to the new one), a primary refusing writes
 * for lack of replicas (NOREPLICAS, min-replicas-to-write).
 */
export function isRedisUnavailableError(error: unknown): boolean {
  if (error instanceof RelayError) return error.code === ErrorCode.Unavailable;
  if (!(error instanceof Error)) return false;
  if (error.name === 'ReplyError') return /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY|NOREPLICAS)\b/.test(error.message);
  if (error.name === 'MaxRetriesPerRequestError') return true;
  const code = (error as { code?: string }).code;
  if (code && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTCONN', 'EHOSTUNREACH'].includes(code)) return true;
  return /Connection is closed|Command timed out|Stream isn't writeable|enableOfflineQueue|Connection lost|connect ETIMEDOUT/i.test(error.message);
}
