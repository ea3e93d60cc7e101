import cliProgress from 'cli-progress';
import { barLine, plainLine, progressFigures, ThroughputWindow, type ProgressCounts, type ProgressFigures } from './progress-figures.js';

/** Where progress goes: stderr, so stdout keeps only the command's result. */
export interface ProgressStream extends NodeJS.WritableStream {
  isTTY?: boolean;
  columns?: number;
}

export interface BackfillProgressOptions {
  /** Milliseconds between lines when the stream is not a terminal. */
  intervalMs: number;
}

/**
 * `relay migrate backfill`'s progress on stderr: on a terminal a bar redrawn
 * in place (at most 10 times a second); otherwise, for logs, a plain line at
 * the start, every `intervalMs`, and at the end. cli-progress does the
 * drawing and the timing; the figures are progress-figures.ts'.
 */
export class BackfillProgress {
  private readonly bar: cliProgress.SingleBar;
  private readonly throughput = new ThroughputWindow();
  private counts: ProgressCounts = { scanned: 0, copied: 0, skipped: 0, invalid: 0 };
  private total?: number;
  private running = false;

  constructor(stream: ProgressStream, options: BackfillProgressOptions) {
    const terminal = stream.isTTY === true;
    this.bar = new cliProgress.SingleBar({
      stream,
      format: () => (terminal ? barLine(this.figures()) : plainLine(this.figures())),
      fps: 10,
      noTTYOutput: true,
      notTTYSchedule: options.intervalMs,
      // Nothing to restore if the command is killed: the cursor stays visible and
      // long lines are cut to the terminal's width rather than turning wrapping off.
      hideCursor: false,
      linewrap: true,
      // On a terminal the last bar stays above the summary; in a log, no empty line after the last one.
      clearOnComplete: !terminal,
    });
  }

  start(): void {
    this.running = true;
    this.bar.start(0, 0);
  }

  /** The backfill's running totals after a batch. */
  update(counts: ProgressCounts): void {
    this.counts = { scanned: counts.scanned, copied: counts.copied, skipped: counts.skipped, invalid: counts.invalid };
    this.throughput.add(Date.now(), counts.scanned);
    if (this.running) this.bar.update(counts.scanned);
  }

  /** The estimated number of records, once counted. */
  setTotal(total: number): void {
    this.total = total;
    if (this.running) this.bar.setTotal(total);
  }

  /** Draws the last figures and stops the timer (which would otherwise keep the process alive). */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.bar.stop();
  }

  figures(): ProgressFigures {
    return progressFigures(this.counts, this.total, this.throughput.perSecond());
  }
}
