import type { FinishItem, FinishResult } from '../scripts/script-types.js';

interface Waiting extends FinishItem {
  resolve: (result: FinishResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Outcomes per finish call for a worker of this concurrency: half of it (at
 * least 1). Jobs claimed together finish together; splitting their outcomes
 * over two or more calls keeps several in flight, so Redis works on one
 * group while the worker runs the next instead of both waiting in lockstep.
 */
export const finishBatchSize = (concurrency: number) => Math.max(1, Math.ceil(concurrency / 2));

/**
 * Group commit for outcomes, the worker's counterpart of CreateBatcher.
 * Outcomes recorded in the same tick of the event loop go to Redis in one
 * finish call (which also claims as many next jobs for the freed slots, in
 * the caller's `finish`); at most `maxPerCall` per call, the rest in the
 * next call one macrotask later. A failed call rejects each outcome of it
 * and only those (the worker retries each, fenced by its lease).
 */
export class FinishBatcher {
  private readonly queue: Waiting[] = [];
  private flushScheduled = false;

  private inFlight = 0;

  /**
   * maxInFlight: calls sent and not yet answered, at most (group commit: while they are, the
   * next outcomes gather into one call). Unbounded by default: each tick's outcomes go at once.
   */
  constructor(
    private readonly finish: (items: FinishItem[]) => Promise<FinishResult[]>,
    private readonly maxPerCall: number,
    private readonly maxInFlight = Infinity,
  ) {}

  submit(item: FinishItem): Promise<FinishResult> {
    return new Promise<FinishResult>((resolveCall, rejectCall) => {
      let resolve = (result: FinishResult) => resolveCall(result);
      let reject = (error: unknown) => rejectCall(error);
      if (item.unconfirmedStart) {
        // Its start has not left yet: one write of start and outcome together instead of two writes
        // of the same job in one call (which would order their index moves wrongly). The start
        // is answered with the outcome's answer.
        const start = this.queue.findIndex((queued) => queued.job === item.job && queued.outcome.outcome === 'start');
        if (start >= 0) {
          const [merged] = this.queue.splice(start, 1);
          const settle = resolve;
          resolve = (result) => {
            merged.resolve(result);
            settle(result);
          };
          const fail = reject;
          reject = (error) => {
            merged.reject(error);
            fail(error);
          };
        }
      }
      this.queue.push({ ...item, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    // A call's answer sends what gathered meanwhile (below).
    if (this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.maxPerCall);
    if (this.queue.length > 0 && this.inFlight + 1 < this.maxInFlight) {
      this.flushScheduled = true;
      setImmediate(() => void this.flush());
    }
    this.inFlight++;
    try {
      const results = await this.finish(batch.map(({ job, outcome, repeat, unconfirmedStart }) => ({ job, outcome, repeat, unconfirmedStart })));
      if (results.length !== batch.length) throw new Error(`finish answered ${results.length} results for ${batch.length} outcomes`);
      batch.forEach((item, i) => item.resolve(results[i]));
    } catch (error) {
      for (const item of batch) item.reject(error);
    } finally {
      this.inFlight--;
      if (this.queue.length > 0 && !this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(() => void this.flush());
      }
    }
  }
}
