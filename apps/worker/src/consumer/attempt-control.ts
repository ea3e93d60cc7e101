/** Why an attempt stopped when its job's cancel was requested: the attempt ends `cancelled`, not failed. */
export class CancelRequested extends Error {
  constructor() {
    super('cancel requested');
    this.name = 'CancelRequested';
  }
}

/**
 * How an attempt is stopped (timeout, lost lease, shutdown, a requested cancel). The
 * AbortController behind `signal` is created only when an action asks for
 * the signal, and stopping rejects the attempt directly instead of through
 * an abort listener: EventTarget and AbortController cost more than a no-op
 * action, and most actions never look at the signal.
 */
export class AttemptControl {
  private controller?: AbortController;
  private rejectAttempt?: (reason: unknown) => void;
  private stopReason?: Error;

  get stopped(): boolean {
    return this.stopReason !== undefined;
  }

  /** Stopped first by cancel() (a later timeout or shutdown does not change it). */
  get cancelled(): boolean {
    return this.stopReason instanceof CancelRequested;
  }

  /** The signal actions honour; aborted already if the attempt was stopped. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.stopReason) this.controller.abort(this.stopReason);
    }
    return this.controller.signal;
  }

  stop(reason: Error): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    this.controller?.abort(reason);
    this.rejectAttempt?.(reason);
  }

  /** Stops the attempt because its job's cancel was requested. */
  cancel(): void {
    this.stop(new CancelRequested());
  }

  /** Settles with `work`, or rejects with the stop reason as soon as the attempt is stopped. */
  bound<T>(work: Promise<T>): Promise<T> {
    if (this.stopReason) return Promise.reject(this.stopReason);
    return new Promise<T>((resolve, reject) => {
      this.rejectAttempt = reject;
      work.then(resolve, reject);
    });
  }
}
