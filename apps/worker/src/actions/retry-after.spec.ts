import { ActionDeferred, ActionError } from './action.js';
import { RETRY_AFTER_DEFAULT_MS, RETRY_AFTER_MAX_MS, parseHttpDate, retryAfterMs } from './retry-after.js';

// Sun, 29 Nov 2026 12:00:00 GMT: the worker's clock in these tests.
const NOW = Date.UTC(2026, 10, 29, 12, 0, 0);

describe('retryAfterMs (a 429 Retry-After header)', () => {
  it('reads whole seconds, spaces around them allowed; 0 is taken as said', () => {
    expect(retryAfterMs('5', NOW)).toBe(5000);
    expect(retryAfterMs(' 120 ', NOW)).toBe(120_000);
    expect(retryAfterMs('0', NOW)).toBe(0);
    expect(retryAfterMs('3600', NOW)).toBe(3_600_000);
  });

  it('reads an HTTP date against the given clock, in each of its three forms', () => {
    expect(retryAfterMs('Sun, 29 Nov 2026 12:00:30 GMT', NOW)).toBe(30_000);
    expect(retryAfterMs('Sunday, 29-Nov-26 12:01:00 GMT', NOW)).toBe(60_000);
    expect(retryAfterMs('Sun Nov 29 12:00:07 2026', NOW)).toBe(7000);
    expect(retryAfterMs('Tue Dec  1 12:00:00 2026', NOW)).toBe(RETRY_AFTER_MAX_MS);
    // The same date against a clock 10 s later: 10 s less to wait.
    expect(retryAfterMs('Sun, 29 Nov 2026 12:00:30 GMT', NOW + 10_000)).toBe(20_000);
  });

  it('waits the default 1 s when the header is missing, empty or unreadable', () => {
    expect(RETRY_AFTER_DEFAULT_MS).toBe(1000);
    for (const header of [undefined, '', '   ', '1.5', '+5', '5s', 'soon', '2026-11-29T12:00:30Z', 'Sun, 29 Nov 2026 12:00:30', 'Sun, 30 Feb 2026 12:00:30 GMT', 'Sun, 29 Nov 2026 24:00:00 GMT']) {
      expect({ header, wait: retryAfterMs(header, NOW) }).toEqual({ header, wait: 1000 });
    }
  });

  it('waits the default, not 0, on a negative value: a signed number or a date already past (the clocks likely differ)', () => {
    expect(retryAfterMs('-5', NOW)).toBe(RETRY_AFTER_DEFAULT_MS);
    expect(retryAfterMs('Sun, 29 Nov 2026 11:59:59 GMT', NOW)).toBe(RETRY_AFTER_DEFAULT_MS);
    expect(retryAfterMs('Sunday, 06-Nov-94 08:49:37 GMT', NOW)).toBe(RETRY_AFTER_DEFAULT_MS);
  });

  it('caps a longer wait at an hour, however it is said', () => {
    expect(RETRY_AFTER_MAX_MS).toBe(3_600_000);
    expect(retryAfterMs('3601', NOW)).toBe(RETRY_AFTER_MAX_MS);
    expect(retryAfterMs('86400', NOW)).toBe(RETRY_AFTER_MAX_MS);
    expect(retryAfterMs('99999999999999999999999999', NOW)).toBe(RETRY_AFTER_MAX_MS);
    expect(retryAfterMs('Mon, 30 Nov 2026 12:00:00 GMT', NOW)).toBe(RETRY_AFTER_MAX_MS);
  });
});

describe('parseHttpDate', () => {
  it('reads a two-digit RFC 850 year as the latest one not more than 50 years ahead', () => {
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', NOW)).toBe(Date.UTC(1994, 10, 6, 8, 49, 37));
    expect(parseHttpDate('Monday, 01-Jan-70 00:00:00 GMT', NOW)).toBe(Date.UTC(2070, 0, 1));
    expect(parseHttpDate('Monday, 01-Jan-77 00:00:00 GMT', NOW)).toBe(Date.UTC(1977, 0, 1));
  });

  it('accepts a leap second and refuses days that do not exist', () => {
    expect(parseHttpDate('Thu, 31 Dec 2026 23:59:60 GMT', NOW)).toBe(Date.UTC(2027, 0, 1));
    expect(parseHttpDate('Fri, 29 Feb 2027 00:00:00 GMT', NOW)).toBeUndefined();
    expect(parseHttpDate('Thu, 00 Dec 2026 00:00:00 GMT', NOW)).toBeUndefined();
    expect(parseHttpDate('Thu, 31 Foo 2026 00:00:00 GMT', NOW)).toBeUndefined();
  });
});

describe('ActionDeferred', () => {
  it('carries the wait and a safe message, and is no ActionError (the worker tells the two apart)', () => {
    const deferred = new ActionDeferred('http.post: upstream answered 429, retry after 2000 ms', 2000);
    expect(deferred).toBeInstanceOf(Error);
    expect(deferred).not.toBeInstanceOf(ActionError);
    expect(deferred).toMatchObject({ name: 'ActionDeferred', retryAfterMs: 2000, message: 'http.post: upstream answered 429, retry after 2000 ms' });
  });

  it.each([NaN, -1, 1.5, Infinity])('refuses a wait of %s ms rather than scheduling it', (wait) => {
    expect(() => new ActionDeferred('x', wait)).toThrow(RangeError);
  });
});
