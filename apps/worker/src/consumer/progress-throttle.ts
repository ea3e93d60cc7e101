import { performance } from 'node:perf_hooks';
import type { ProgressResult } from '@relay/queue';

/** Characters (code points) of a progress message that are kept; the rest is cut. */
export const PROGRESS_MESSAGE_MAX_CHARS = 200;

/** What became of a report: written to the job, replaced by a later one before its write, or its write refused (lease lost, job gone) or failed. */
export type ProgressReportFate = 'written' | 'superseded' | 'lost' | 'failed';

interface Report {
  progress: number;
  message: string;
}

/** A report as an action gave it, checked: RangeError/TypeError for a value Relay would not store. */
export function checkedReport(percent: unknown, message: unknown): Report {
  if (typeof percent !== 'number' || !Number.isInteger(percent) || percent < 0 || percent > 100) {
    throw new RangeError(`progress: percent must be a whole number from 0 to 100, got ${typeof percent === 'number' ? percent : typeof percent}`);
  }
  if (message !== undefined && typeof message !== 'string') throw new TypeError(`progress: message must be a string, got ${typeof message}`);
  const text = message ?? '';
  // Cut by code points (a UTF-16 slice could split a surrogate pair); most messages are far shorter.
  return { progress: percent, message: text.length <= PROGRESS_MESSAGE_MAX_CHARS ? text : Array.from(text).slice(0, PROGRESS_MESSAGE_MAX_CHARS).join('') };
}

/**
 * One attempt's progress reports on their way to Redis, throttled: at most
 * one write per `intervalMs`, the latest report winning (the first is
 * written at once; a report within the interval waits for its end, and
 * replaces any report still waiting). So an action may report as often as
 * it likes and its job costs Redis at most 1 + duration / interval writes,
 * plus one at the end. end() writes the report still waiting, before the
 * attempt's outcome (both go over the same connection, in order), and drops
 * every later one. A write the lease no longer allows ('lost', 'gone') stops
 * the writes of this attempt.
 */
export class ProgressThrottle {
  private lastWriteAt = -Infinity;
  private waiting?: Report;
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly write: (progress: number, message: string) => Promise<ProgressResult>,
    private readonly intervalMs: number,
    private readonly counted: (fate: ProgressReportFate) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  report(percent: unknown, message?: unknown): void {
    const report = checkedReport(percent, message);
    if (this.closed) return;
    if (this.waiting) this.counted('superseded');
    this.waiting = report;
    if (this.timer) return;
    const wait = this.lastWriteAt + this.intervalMs - this.now();
    if (wait <= 0) return this.flush();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
    this.timer.unref();
  }

  /** The attempt has ended: the waiting report is written now, later ones are ignored. */
  end(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flush();
    this.closed = true;
  }

  private flush(): void {
    const report = this.waiting;
    if (!report || this.closed) return;
    this.waiting = undefined;
    this.lastWriteAt = this.now();
    this.write(report.progress, report.message).then(
      (result) => {
        if (result === 'done') return this.counted('written');
        this.counted('lost');
        this.closed = true;
        clearTimeout(this.timer);
        if (this.waiting) this.counted('lost');
        this.waiting = undefined;
      },
      // Progress is informative: a write Redis did not take is not retried (the next report may be).
      () => this.counted('failed'),
    );
  }
}
