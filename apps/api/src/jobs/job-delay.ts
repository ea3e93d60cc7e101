import { invalidInput } from '@relay/errors';
import type { JobDelay } from '@relay/queue';
import { RUN_AT_MESSAGE, runAtEpochMs } from './dto/delay-fields.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The horizon in words, e.g. "2592000000 ms, JOB_DELAY_MAX_MS: 30 days". */
function horizon(maxAheadMs: number): string {
  const days = Math.round((maxAheadMs / DAY_MS) * 100) / 100;
  return `${maxAheadMs} ms, JOB_DELAY_MAX_MS: ${days} day${days === 1 ? '' : 's'}`;
}

/**
 * The delay of one job (a submit, or one step of a plan), or undefined when
 * it has none; throws a 400 naming the field when it would put the job more
 * than `maxAheadMs` ahead. The fields' shapes are already checked
 * (delay-fields.ts). The horizon is checked by this process's clock
 * (`nowMs`): a bound on how far ahead clients may schedule, where a clock
 * off by seconds does not matter; when a job falls due is Redis's clock's
 * business (createJobs.lua).
 */
export function jobDelay(field: string, body: { run_at?: string; delay_ms?: number }, maxAheadMs: number, nowMs: number): JobDelay | undefined {
  if (body.delay_ms !== undefined) {
    if (body.delay_ms > maxAheadMs) throw invalidInput(`${field}delay_ms must be at most ${maxAheadMs} (${horizon(maxAheadMs)}); got ${body.delay_ms}`);
    return { afterMs: body.delay_ms };
  }
  if (body.run_at === undefined) return undefined;
  const atMs = runAtEpochMs(body.run_at);
  if (atMs === undefined) throw invalidInput(`${field}${RUN_AT_MESSAGE}`);
  const ahead = atMs - nowMs;
  if (ahead > maxAheadMs) {
    throw invalidInput(`${field}run_at must be at most ${horizon(maxAheadMs)} ahead of now (${new Date(nowMs).toISOString()}); ${body.run_at} is ${ahead} ms ahead`);
  }
  return { atMs };
}
