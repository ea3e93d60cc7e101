/**
 * Exponential backoff with full jitter: the delay after attempt n is a
 * uniform random value in [0, min(max, base * 2^(n-1))]. Full jitter spreads
 * retries of jobs that failed together (a flaky upstream) instead of
 * bringing them back in a herd.
 */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}
