import { applyDecorators, Injectable, SetMetadata } from '@nestjs/common';

export const ACTION_ID = Symbol('relay:action-id');

/** What an action gets besides its params. */
export interface ActionContext {
  jobId: string;
  workspaceId: string;
  attempt: number;
  /** Aborted on timeout, a requested cancel, lost lease or shutdown past the grace period; long actions must honour it. */
  signal: AbortSignal;
  /**
   * Reports how far the attempt has got: `percent` a whole number 0-100 (else RangeError), `message`
   * a short safe text (at most 200 characters are kept; shown to the job's readers and in events,
   * so never params or secrets). Cheap to call often: the worker writes at most one report per job
   * per PROGRESS_MIN_INTERVAL_MS, the latest winning (README "Progress").
   */
  progress(percent: number, message?: string): void;
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

/**
 * Thrown by an action to have its job wait `retryAfterMs` and run again
 * without using an attempt: the upstream said "rate limited, retry after N
 * ms" (http.post on a 429). The worker allows JOB_MAX_DEFERRALS of them per
 * job; past that a deferral counts as an ordinary retryable failure. Its
 * message is stored and shown like an ActionError's, so it must be as safe
 * (no URL, no params, no upstream body).
 */
export class ActionDeferred extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    // Refused here rather than scheduled wrongly: NaN or a negative wait would reach the claim script's due times.
    if (!Number.isSafeInteger(retryAfterMs) || retryAfterMs < 0) throw new RangeError(`ActionDeferred: retryAfterMs must be a whole number of ms ≥ 0, got ${retryAfterMs}`);
    super(message);
    this.name = 'ActionDeferred';
  }
}
