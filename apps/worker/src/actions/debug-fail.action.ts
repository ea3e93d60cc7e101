import { ActionError, RelayAction, type ActionContext, type ActionHandler } from './action.js';

/**
 * For tests: fails its first `times` attempts (every attempt when `times` is
 * absent), then succeeds. Result: {attempt}.
 */
@RelayAction('debug.fail')
export class DebugFailAction implements ActionHandler {
  async run(params: Record<string, unknown>, context: ActionContext) {
    const times = params.times;
    if (times !== undefined && (typeof times !== 'number' || !Number.isInteger(times) || times < 0)) {
      throw new ActionError('debug.fail: times must be a whole number >= 0', false);
    }
    if (times === undefined || context.attempt <= times) {
      throw new ActionError(`debug.fail: planned failure on attempt ${context.attempt}`);
    }
    return { attempt: context.attempt };
  }
}
