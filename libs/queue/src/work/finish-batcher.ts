import type { AttemptOutcome, ClaimedJob, FinishResult } from '../scripts/script-types.js';

export interface FinishItem {
  job: ClaimedJob;
  outcome: AttemptOutcome;
  /** A repeat of a finish whose answer never came (Redis may have run it): see finishJobs.lua. */
  repeat?: boolean;
}

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

  constructor(
    private readonly finish: (items: FinishItem[]) => Promise<FinishResult[]>,
    private readonly maxPerCall: number,
  ) {}

  submit(job: ClaimedJob, outcome: AttemptOutcome, repeat = false): Promise<FinishResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, outcome, repeat, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const batch = this.queue.splice(0, this.maxPerCall);
    if (this.queue.length > 0) {
      this.flushScheduled = true;
      setImmediate(() => void this.flush());
    }
    try {
      const results = await this.finish(batch.map(({ job, outcome, repeat }) => ({ job, outcome, repeat })));
      if (results.length !== batch.length) throw new Error(`finish answered ${results.length} results for ${batch.length} outcomes`);
      batch.forEach((item, i) => item.resolve(results[i]));
    } catch (error) {
      for (const item of batch) item.reject(error);
    }
  }
}
