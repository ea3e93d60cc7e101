import { setTimeout as sleep } from 'node:timers/promises';
import { ActionError, RelayAction, type ActionContext, type ActionHandler } from './action.js';

export const DEBUG_SLEEP_MAX_MS = 60000;

/** Sleeps `ms` (0–60000), ending early when aborted. Result: {slept_ms}. */
@RelayAction('debug.sleep')
export class DebugSleepAction implements ActionHandler {
  async run(params: Record<string, unknown>, context: ActionContext) {
    const ms = params.ms ?? 0;
    if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > DEBUG_SLEEP_MAX_MS) {
      throw new ActionError(`debug.sleep: ms must be a whole number from 0 to ${DEBUG_SLEEP_MAX_MS}`, false);
    }
    await sleep(ms, undefined, { signal: context.signal });
    return { slept_ms: ms };
  }
}
