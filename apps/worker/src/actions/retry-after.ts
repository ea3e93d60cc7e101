/** The wait when a 429 carries no usable Retry-After: long enough not to hammer the upstream, short enough to cost little. */
export const RETRY_AFTER_DEFAULT_MS = 1000;
/** The longest wait an upstream can impose (an hour): a far-off or absurd value must not park a job for days. */
export const RETRY_AFTER_MAX_MS = 3_600_000;

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MONTH = '(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
// The three forms RFC 9110 (5.6.7) makes recipients accept: IMF-fixdate, then the obsolete RFC 850 and asctime ones.
const IMF_FIXDATE = new RegExp(`^(?:mon|tue|wed|thu|fri|sat|sun), (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`, 'i');
const RFC850_DATE = new RegExp(`^(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`, 'i');
const ASCTIME_DATE = new RegExp(`^(?:mon|tue|wed|thu|fri|sat|sun) ${MONTH} ( \\d|\\d{2}) ${TIME} (\\d{4})$`, 'i');

/**
 * How long to wait before asking again, from a 429's Retry-After header
 * (RFC 9110 10.2.3: whole seconds, or an HTTP date read against `nowMs`,
 * this worker's clock):
 * - missing or unreadable (a fraction, a sign, another date format): the
 *   default, 1 s;
 * - beyond an hour: the cap, an hour (the upstream did ask to wait long;
 *   the cap only bounds it);
 * - a date already past (negative): the default, not 0: a date behind our
 *   clock most likely means the two clocks differ, and asking again at once
 *   would only earn the next 429. `0` seconds is taken as said: at once.
 */
export function retryAfterMs(header: string | undefined, nowMs: number): number {
  const value = header?.trim() ?? '';
  if (/^\d+$/.test(value)) return Math.min(Number(value) * 1000, RETRY_AFTER_MAX_MS);
  const due = parseHttpDate(value, nowMs);
  if (due === undefined) return RETRY_AFTER_DEFAULT_MS;
  const wait = due - nowMs;
  if (wait < 0) return RETRY_AFTER_DEFAULT_MS;
  return Math.min(wait, RETRY_AFTER_MAX_MS);
}

/** An HTTP date in any of its three forms, as ms since the epoch (UTC); undefined when it is none or names no real day. */
export function parseHttpDate(value: string, nowMs: number): number | undefined {
  let day: string, month: string, year: number, hh: string, mm: string, ss: string;
  let match = IMF_FIXDATE.exec(value);
  if (match) {
    [, day, month, , hh, mm, ss] = match;
    year = Number(match[3]);
  } else if ((match = RFC850_DATE.exec(value))) {
    [, day, month, , hh, mm, ss] = match;
    year = fullYear(Number(match[3]), nowMs);
  } else if ((match = ASCTIME_DATE.exec(value))) {
    [, month, day, hh, mm, ss] = match;
    year = Number(match[6]);
  } else {
    return undefined;
  }
  const monthIndex = MONTHS.indexOf(month.toLowerCase());
  const [d, h, m, s] = [Number(day), Number(hh), Number(mm), Number(ss)];
  // 60 seconds: a leap second.
  if (h > 23 || m > 59 || s > 60) return undefined;
  // Date.UTC rolls 30 February over into March: such a day does not exist.
  const midnight = new Date(Date.UTC(year, monthIndex, d));
  if (midnight.getUTCDate() !== d || midnight.getUTCMonth() !== monthIndex) return undefined;
  return Date.UTC(year, monthIndex, d, h, m, s);
}

/** RFC 9110: a two-digit year more than 50 years ahead is the latest past year with those digits. */
function fullYear(twoDigits: number, nowMs: number): number {
  const thisYear = new Date(nowMs).getUTCFullYear();
  const candidate = Math.floor(thisYear / 100) * 100 + twoDigits;
  return candidate > thisYear + 50 ? candidate - 100 : candidate;
}
