import { setTimeout as sleep } from 'node:timers/promises';
import { ActionError, RelayAction, type ActionContext, type ActionHandler } from './action.js';

export const DEBUG_SLEEP_MAX_MS = 60000;

const wholeMs = (value: unknown, min: number) => typeof value === 'number' && Number.isInteger(value) && value >= min && value <= DEBUG_SLEEP_MAX_MS;

/**
 * Sleeps `ms` (0–60000), ending at once when aborted (a timeout, a cancel).
 * With `progress_every_ms` (1–60000) it sleeps in steps of that length and
 * reports progress after each (`percent` of `ms` slept, message `slept N of
 * M ms`), so tests can watch progress and its throttling. Result: {slept_ms}.
 */
@RelayAction('debug.sleep')
export class DebugSleepAction implements ActionHandler {
  async run(params: Record<string, unknown>, context: ActionContext) {
    const ms = params.ms ?? 0;
    if (!wholeMs(ms, 0)) throw new ActionError(`debug.sleep: ms must be a whole number from 0 to ${DEBUG_SLEEP_MAX_MS}`, false);
    const every = params.progress_every_ms;
    if (every !== undefined && !wholeMs(every, 1)) throw new ActionError(`debug.sleep: progress_every_ms must be a whole number from 1 to ${DEBUG_SLEEP_MAX_MS}`, false);
    const total = ms as number;
    const step = (every as number | undefined) ?? total;
    let slept = 0;
    while (slept < total) {
      const next = Math.min(step, total - slept);
      await sleep(next, undefined, { signal: context.signal });
      slept += next;
      if (every !== undefined) context.progress(Math.floor((slept * 100) / total), `slept ${slept} of ${total} ms`);
    }
    return { slept_ms: total };
  }
}
