import { DEFAULT_RETRY, reconnectDelayMs, retryAfterMs, retryDelayMs, type RetryOptions } from './retry-policy.js';

const options: RetryOptions = { maxAttempts: 4, baseDelayMs: 250, maxJitterMs: 600, maxRetryAfterMs: 30_000 };
const lowest = () => 0;
const highest = () => 0.999999;

describe('retry policy of the typed client', () => {
  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs(' 0 ')).toBe(0);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
    const now = Date.parse('2026-11-29T10:00:00Z');
    expect(retryAfterMs('Sun, 29 Nov 2026 10:00:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('Sun, 29 Nov 2026 09:59:00 GMT', now)).toBe(0);
  });

  it('never retries before Retry-After, and adds a jitter that doubles per retry up to its cap', () => {
    const at = (attempt: number, random: () => number) => retryDelayMs({ status: 503, retryAfter: '1', attempt }, options, random);
    expect(at(1, lowest)).toBe(1000);
    expect(at(1, highest)).toBe(1249);
    expect(at(2, highest)).toBe(1499);
    // 250 × 2^2 = 1000 is above maxJitterMs (600).
    expect(at(3, highest)).toBe(1599);
  });

  it('retries 503 (1 s when it says no Retry-After) and 429 only with a Retry-After', () => {
    expect(retryDelayMs({ status: 503, retryAfter: null, attempt: 1 }, options, lowest)).toBe(1000);
    expect(retryDelayMs({ status: 429, retryAfter: '3', attempt: 1 }, options, lowest)).toBe(3000);
    // The stored-jobs quota: no Retry-After, frees only as jobs expire.
    expect(retryDelayMs({ status: 429, retryAfter: null, attempt: 1 }, options, lowest)).toBeUndefined();
    for (const status of [400, 401, 403, 404, 408, 409, 410, 413, 415, 422, 500, 502]) {
      expect(retryDelayMs({ status, retryAfter: '1', attempt: 1 }, options, lowest)).toBeUndefined();
    }
  });

  it('stops after maxAttempts tries, and does not wait for a Retry-After beyond maxRetryAfterMs', () => {
    expect(retryDelayMs({ status: 503, retryAfter: '1', attempt: 3 }, options, lowest)).toBe(1000);
    expect(retryDelayMs({ status: 503, retryAfter: '1', attempt: 4 }, options, lowest)).toBeUndefined();
    expect(retryDelayMs({ status: 503, retryAfter: '1', attempt: 1 }, { ...options, maxAttempts: 1 }, lowest)).toBeUndefined();
    expect(retryDelayMs({ status: 429, retryAfter: '30', attempt: 1 }, options, lowest)).toBe(30_000);
    expect(retryDelayMs({ status: 429, retryAfter: '31', attempt: 1 }, options, lowest)).toBeUndefined();
  });

  it('retries no answer at all (status 0: an event stream whose connection failed) as a 503 without Retry-After', () => {
    expect(retryDelayMs({ status: 0, retryAfter: null, attempt: 1 }, options, lowest)).toBe(1000);
    expect(retryDelayMs({ status: 0, retryAfter: null, attempt: 2 }, options, highest)).toBe(1499);
    expect(retryDelayMs({ status: 0, retryAfter: null, attempt: 4 }, options, lowest)).toBeUndefined();
  });

  it('reconnects a stream that had opened after the first retry\'s jitter alone', () => {
    expect(reconnectDelayMs(options, lowest)).toBe(0);
    expect(reconnectDelayMs(options, highest)).toBe(249);
    expect(reconnectDelayMs({ ...options, maxJitterMs: 100 }, highest)).toBe(99);
  });

  it('defaults to four tries, waits of at most 30 s', () => {
    expect(DEFAULT_RETRY).toEqual({ maxAttempts: 4, baseDelayMs: 250, maxJitterMs: 2000, maxRetryAfterMs: 30_000 });
  });
});
