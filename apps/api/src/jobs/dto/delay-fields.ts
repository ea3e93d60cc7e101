import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { registerDecorator } from 'class-validator';

/**
 * The two optional ways of delaying a job, `run_at` and `delay_ms`, as
 * shapes only: what is checked here needs no setting and no clock, so the
 * global ValidationPipe (POST /ai/jobs) and the hand-written step checks
 * (POST /ai/plans, plan-steps.validator.ts) share these predicates and give
 * the same verdicts and messages. How far ahead a job may be put needs
 * JOB_DELAY_MAX_MS and the clock: jobs/job-delay.ts.
 */

export const RUN_AT_MESSAGE = 'run_at must be an ISO 8601 date-time with a time zone, such as 2026-11-29T12:00:00.000Z or 2026-11-29T14:00:00+02:00';
export const DELAY_MS_MESSAGE = 'delay_ms must be a whole number of milliseconds, 0 or more';
export const BOTH_DELAYS_MESSAGE = 'delay_ms must not be sent together with run_at: send one of them';

// Extended format only, seconds optional, any number of fraction digits (ms are kept), and a zone that is Z or ±hh:mm:
// a time without a zone would mean the API's local time, which a client cannot know.
const RUN_AT_SHAPE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?:Z|([+-])(\d{2}):(\d{2}))$/;

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeapYear = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
const daysInMonth = (year: number, month: number) => (month === 2 && isLeapYear(year) ? 29 : MONTH_DAYS[month - 1]);

/**
 * The instant a `run_at` names, in ms since the epoch, or undefined when it
 * is not an ISO 8601 date-time with a zone or names no real date or time
 * (Date.parse rolls 2026-02-30 over to March and takes 24:00; these are refused).
 */
export function runAtEpochMs(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = RUN_AT_SHAPE.exec(value);
  if (!m) return undefined;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const offsetHours = m[9] === undefined ? 0 : Number(m[9]);
  const offsetMinutes = m[10] === undefined ? 0 : Number(m[10]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return undefined;
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  // Date.UTC maps years 0-99 to 1900-1999: the year is set on its own.
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, ms));
  date.setUTCFullYear(year);
  const offsetMs = (offsetHours * 60 + offsetMinutes) * 60_000 * (m[8] === '-' ? -1 : 1);
  return date.getTime() - offsetMs;
}

export const isDelayMs = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** The problems of a step's or job's delay fields (absent fields are fine), as field-level messages. */
export function delayProblems(body: { run_at?: unknown; delay_ms?: unknown }): string[] {
  const problems: string[] = [];
  if (body.run_at !== undefined && runAtEpochMs(body.run_at) === undefined) problems.push(RUN_AT_MESSAGE);
  if (body.delay_ms !== undefined && !isDelayMs(body.delay_ms)) problems.push(DELAY_MS_MESSAGE);
  if (body.run_at !== undefined && body.delay_ms !== undefined) problems.push(BOTH_DELAYS_MESSAGE);
  return problems;
}

/** A class-validator check of one property by a predicate that also sees the whole object. */
function checkedBy(name: string, message: string, valid: (value: unknown, object: Record<string, unknown>) => boolean): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name,
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message },
      validator: { validate: (value, args) => value === undefined || valid(value, args?.object as Record<string, unknown>) },
    });
}

const HORIZON = 'at most JOB_DELAY_MAX_MS ahead (default 30 days; more is 400)';
const DUE_RULE = 'The job is `pending` and shows `run_at` until it is due, can be cancelled meanwhile, and is claimed once due (README "Scheduling")';

export const RunAtField = () =>
  applyDecorators(
    ApiPropertyOptional({
      type: 'string',
      format: 'date-time',
      description:
        `Run the job no earlier than this time: ISO 8601 with a time zone (\`Z\` or \`±hh:mm\`), ${HORIZON}; a time in the past runs now. ` +
        `${DUE_RULE}. Not together with \`delay_ms\`.`,
      example: '2026-11-29T12:00:00.000Z',
    }),
    checkedBy('isRunAt', RUN_AT_MESSAGE, (value) => runAtEpochMs(value) !== undefined),
  );

export const DelayMsField = () =>
  applyDecorators(
    ApiPropertyOptional({
      type: 'integer',
      minimum: 0,
      description: `Run the job no earlier than this many milliseconds after it is stored (by Redis's clock), ${HORIZON}; 0 runs now. ${DUE_RULE}. Not together with \`run_at\`.`,
      example: 60000,
    }),
    checkedBy('isDelayMs', DELAY_MS_MESSAGE, isDelayMs),
    checkedBy('delayAlone', BOTH_DELAYS_MESSAGE, (_value, object) => object?.run_at === undefined),
  );
