import { ErrorCode, RelayError } from '@relay/errors';

/** Fewer replicas than required confirmed the writes within the timeout (or Redis did not answer the WAIT). */
export class ReplicasBehindError extends RelayError {
  constructor(readonly acknowledged: number, readonly required: number, timeoutMs: number) {
    super(ErrorCode.Unavailable, `${acknowledged} of ${required} required Redis replicas acknowledged within ${timeoutMs} ms`);
    this.name = 'ReplicasBehindError';
  }
}

/** Redis WAIT on one connection: resolves to the number of replicas that acknowledged its writes so far. */
export type WaitForReplicas = (replicas: number, timeoutMs: number) => Promise<number>;

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Waits until a connection's writes have reached `replicas` replicas
 * (REDIS_MIN_REPLICAS_ACK), with Redis WAIT, which covers every write that
 * connection made before it. WAIT blocks the connection it is sent on until
 * it returns, so at most one is out at a time: callers that arrive while
 * one is out share the next, and callers of the same turn of the event loop
 * (the submits of one createJobs call) share one. A command queued behind a
 * WAIT thus waits at most one timeout, which the settings keep below the
 * command timeout.
 */
export class ReplicaAcknowledgement {
  private waiting: Waiter[] = [];
  private busy = false;

  constructor(
    private readonly wait: WaitForReplicas,
    readonly replicas: number,
    readonly timeoutMs: number,
  ) {}

  /**
   * Resolves once every write the connection made before this call is on
   * `replicas` replicas (at once when none are required); rejects with
   * ReplicasBehindError, or the connection's error, when that is not known
   * within the timeout. Call it after the write's reply arrived.
   */
  confirm(): Promise<void> {
    if (this.replicas === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.schedule();
    });
  }

  /** The next WAIT goes at the end of this turn, so every caller of the turn joins it; never while one is out (it may predate their writes). */
  private schedule(): void {
    if (this.busy) return;
    this.busy = true;
    setImmediate(() => void this.send());
  }

  private async send(): Promise<void> {
    const batch = this.waiting.splice(0);
    try {
      const acknowledged = await this.wait(this.replicas, this.timeoutMs);
      if (acknowledged >= this.replicas) batch.forEach((w) => w.resolve());
      else {
        const error = new ReplicasBehindError(acknowledged, this.replicas, this.timeoutMs);
        batch.forEach((w) => w.reject(error));
      }
    } catch (error) {
      batch.forEach((w) => w.reject(error));
    } finally {
      this.busy = false;
      if (this.waiting.length > 0) this.schedule();
    }
  }
}
