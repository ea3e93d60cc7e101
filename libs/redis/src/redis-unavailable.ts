import { ErrorCode, RelayError } from '@relay/errors';

/** Redis refuses writes because it reached maxmemory under `noeviction` ("OOM command not allowed ..."). */
export function isRedisOomError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError' && /^OOM\b/.test(error.message);
}

/**
 * True for errors that mean "Redis cannot serve this now": it did not
 * answer (not connected, connection dropped, timed out, or a Relay error
 * with code Unavailable) or it answered "not now": loading or busy, refusing
 * writes for memory (OOM), a replica that was the primary before a failover
 * (READONLY: the client reconnects to the new one), a primary refusing
 * writes for lack of replicas (NOREPLICAS) — as opposed to an error reply
 * that a retry would not change. Callers answer 503 with Retry-After, back
 * off quietly, or retry within a bound.
 */
export function isRedisUnavailableError(error: unknown): boolean {
  if (error instanceof RelayError) return error.code === ErrorCode.Unavailable;
  if (!(error instanceof Error)) return false;
  if (error.name === 'ReplyError') return /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY|NOREPLICAS|OOM)\b/.test(error.message);
  if (error.name === 'MaxRetriesPerRequestError') return true;
  const code = (error as { code?: string }).code;
  if (code && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTCONN', 'EHOSTUNREACH'].includes(code)) return true;
  return /Connection is closed|Command timed out|Stream isn't writeable|enableOfflineQueue|Connection lost|connect ETIMEDOUT/i.test(error.message);
}

/** Why Redis could not serve, for logs and metric labels: 'redis_oom' or 'redis_unavailable'. */
export function unavailabilityReason(error: unknown): 'redis_oom' | 'redis_unavailable' {
  return isRedisOomError(error) ? 'redis_oom' : 'redis_unavailable';
}
