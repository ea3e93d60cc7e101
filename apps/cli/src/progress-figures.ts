/**
 * What `relay migrate backfill` shows of its progress, as plain values and
 * text, apart from where it is drawn (backfill-progress.ts): records done,
 * the estimated total, throughput over the last seconds, time left.
 */

export interface ProgressCounts {
  /** Records looked at so far (a resumed run starts from the saved count). */
  scanned: number;
  copied: number;
  skipped: number;
  invalid: number;
}

export interface ProgressFigures extends ProgressCounts {
  /** Estimated number of legacy records; undefined until the estimate is in. */
  total?: number;
  percent?: number;
  perSecond?: number;
  etaSeconds?: number;
}

/**
 * Records per second over about the last `windowMs`: recent enough to follow
 * a change of pace, and never from fewer than two samples. A window that saw
 * only one batch (slow batches) stretches back to the one before.
 */
export class ThroughputWindow {
  private readonly samples: { at: number; done: number }[] = [];

  constructor(private readonly windowMs = 10_000) {}

  add(at: number, done: number): void {
    this.samples.push({ at, done });
    while (this.samples.length > 2 && this.samples[1].at <= at - this.windowMs) this.samples.shift();
  }

  perSecond(): number | undefined {
    if (this.samples.length < 2) return undefined;
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    return last.at > first.at ? ((last.done - first.done) * 1000) / (last.at - first.at) : undefined;
  }
}

export function progressFigures(counts: ProgressCounts, total: number | undefined, perSecond: number | undefined): ProgressFigures {
  // SCAN may return a key twice and records may be added meanwhile: the estimate never shows less than what is done.
  const shownTotal = total === undefined ? undefined : Math.max(total, counts.scanned);
  const percent = shownTotal ? Math.floor((counts.scanned * 100) / shownTotal) : undefined;
  const etaSeconds = shownTotal !== undefined && perSecond ? (shownTotal - counts.scanned) / perSecond : undefined;
  return { ...counts, total: shownTotal, percent, perSecond, etaSeconds };
}

/** 42s, 3m05s, 1h02m. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

const totalText = (f: ProgressFigures) => (f.total === undefined ? '?' : `~${f.total}`);
const rateText = (f: ProgressFigures) => (f.perSecond === undefined ? '?' : String(Math.round(f.perSecond)));
const etaText = (f: ProgressFigures) => (f.etaSeconds === undefined ? '?' : formatDuration(f.etaSeconds));
const countsText = (f: ProgressFigures) => `copied ${f.copied}, skipped ${f.skipped}, invalid ${f.invalid}`;

/** One line of a log (stderr not a terminal): every figure in words, nothing to redraw. */
export function plainLine(f: ProgressFigures): string {
  const percent = f.percent === undefined ? '' : ` (${f.percent}%)`;
  return `backfill: ${f.scanned} of ${totalText(f)} records${percent}, ${countsText(f)}; ${rateText(f)} records/s, ETA ${etaText(f)}`;
}

/** The terminal's bar, redrawn in place. */
export function barLine(f: ProgressFigures, width = 30): string {
  const filled = f.percent === undefined ? 0 : Math.round((Math.min(100, f.percent) * width) / 100);
  const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
  const percent = f.percent === undefined ? '?' : String(f.percent);
  return `backfill ${bar} ${percent}% ${f.scanned}/${totalText(f)} | ${rateText(f)}/s | ETA ${etaText(f)} | ${countsText(f)}`;
}
