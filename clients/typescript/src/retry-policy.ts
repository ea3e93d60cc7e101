/** How the client retries answers that say "try again later". */
export interface RetryOptions {
  /** Tries in all, the first one included (1 turns retrying off). */
  maxAttempts: number;
  /** The jitter added to a wait grows from this, doubling with each retry... */
  baseDelayMs: number;
  /** ...up to this. */
  maxJitterMs: number;
  /** A Retry-After longer than this is not waited for: the error is thrown at once (e.g. a failed-authentication lockout). */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { maxAttempts: 4, baseDelayMs: 250, maxJitterMs: 2000, maxRetryAfterMs: 30_000 };

/** What the policy needs to know of a failed try. */
export interface FailedTry {
  /**
   * The answer's status, or 0 for no answer at all (the connection refused,
   * or dropped before the headers): only event streams pass 0 (a GET that
   * changes nothing), and it is retried like a 503 without Retry-After.
   */
  status: number;
  /** The Retry-After header as sent, if any. */
  retryAfter: string | null;
  /** Tries made so far, this one included (1 after the first). */
  attempt: number;
}

/**
 * Seconds in a Retry-After header: delta-seconds or an HTTP date (RFC 9110).
 * undefined when absent or unreadable.
 */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  if (/^\s*\d+\s*$/.test(header)) return Number(header) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * How long to wait before trying again, or undefined for "do not retry".
 *
 * Retried: 503 (Relay always says when; 1 s is assumed if a proxy did not),
 * no answer (status 0, event streams only: as a 503 without Retry-After)
 * and 429 with a Retry-After (the rate limits). A 429 without one is the
 * stored-jobs quota, which frees only as jobs expire, so it is not retried.
 * Never earlier than Retry-After; a random extra of up to
 * baseDelayMs × 2^(attempt−1) (at most maxJitterMs) spreads clients that
 * were refused together, so they do not all come back in the same instant.
 */
export function retryDelayMs(failed: FailedTry, options: RetryOptions, random: () => number = Math.random): number | undefined {
  if (failed.attempt >= options.maxAttempts) return undefined;
  const asked = retryAfterMs(failed.retryAfter);
  let wait: number;
  if (failed.status === 503 || failed.status === 0) wait = asked ?? 1000;
  else if (failed.status === 429 && asked !== undefined) wait = asked;
  else return undefined;
  if (wait > options.maxRetryAfterMs) return undefined;
  return wait + jitterMs(failed.attempt, options, random);
}

/**
 * How long an event stream that had opened (200) waits before reconnecting
 * after it ended or dropped: the first retry's jitter alone (at most
 * baseDelayMs), so the clients of an API replica that shuts down, which all
 * lose their streams in the same instant, come back spread out rather than
 * together. A reconnect that then fails goes on under retryDelayMs.
 * `streak`: streams in a row that ended soon after opening without an event
 * (a server answering 200 and closing at once): from the second on, the
 * wait grows like a retry's, at least half of baseDelayMs × 2^(streak−1)
 * (capped by maxJitterMs), so such a server is not asked again and again.
 */
export function reconnectDelayMs(options: RetryOptions, random: () => number = Math.random, streak = 1): number {
  if (streak <= 1) return jitterMs(1, options, random);
  const cap = Math.min(options.maxJitterMs, options.baseDelayMs * 2 ** (streak - 1));
  return Math.floor(cap / 2 + random() * (cap / 2));
}

/** A random extra of up to baseDelayMs × 2^(attempt−1), at most maxJitterMs. */
function jitterMs(attempt: number, options: RetryOptions, random: () => number): number {
  const cap = Math.min(options.maxJitterMs, options.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * cap);
}
