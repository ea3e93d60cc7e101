import { applyDecorators, Injectable, SetMetadata } from '@nestjs/common';

export const ACTION_ID = Symbol('relay:action-id');

/** What an action gets besides its params. */
export interface ActionContext {
  jobId: string;
  workspaceId: string;
  attempt: number;
  /** Aborted on timeout, lost lease or shutdown past the grace period; long actions must honour it. */
  signal: AbortSignal;
}

/** One class per action: `@RelayAction('provider.name')` and a run method. */
export interface ActionHandler {
  run(params: Record<string, unknown>, context: ActionContext): Promise<unknown>;
}

/**
 * Registers a class as the handler of an action id. Add the class to
 * ActionsModule's providers; the registry discovers it through DI, and the
 * worker needs no change.
 */
export const RelayAction = (actionId: string) => applyDecorators(Injectable(), SetMetadata(ACTION_ID, actionId));

/**
 * An error whose message is safe to store and show (no stack, no secret).
 * `retryable` false fails the job at once; true lets it retry while attempts remain.
 */
export class ActionError extends Error {
  constructor(
    message: string,
    readonly retryable = true,
  ) {
    super(message);
    this.name = 'ActionError';
  }
}
