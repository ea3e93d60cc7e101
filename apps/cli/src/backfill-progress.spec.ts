import { Writable } from 'node:stream';
import { BackfillProgress } from './backfill-progress.js';
import { barLine, formatDuration, plainLine, progressFigures, ThroughputWindow } from './progress-figures.js';

/** A stream that keeps what is written; `isTTY` and `columns` as a terminal (or a pipe) would report them. */
class CapturedStream extends Writable {
  text = '';
  constructor(readonly isTTY: boolean, readonly columns?: number) {
    super();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

const ESC = '\x1b';
const counts = (scanned: number) => ({ scanned, copied: scanned - 2, skipped: 1, invalid: 1 });

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('backfill progress figures', () => {
  it('percent and time left against the estimated total; "?" until the estimate and a rate are known', () => {
    expect(plainLine(progressFigures(counts(0), undefined, undefined))).toBe('backfill: 0 of ? records, copied -2, skipped 1, invalid 1; ? records/s, ETA ?');
    const f = progressFigures(counts(2500), 10_000, 500);
    expect(f).toMatchObject({ percent: 25, etaSeconds: 15 });
    expect(plainLine(f)).toBe('backfill: 2500 of ~10000 records (25%), copied 2498, skipped 1, invalid 1; 500 records/s, ETA 15s');
  });

  it('never shows a total below what is done (SCAN repeats, records added meanwhile)', () => {
    expect(progressFigures(counts(120), 100, 10)).toMatchObject({ total: 120, percent: 100, etaSeconds: 0 });
  });

  it('draws a bar of the share done', () => {
    const line = barLine(progressFigures(counts(500), 1000, 250), 10);
    expect(line).toBe('backfill █████░░░░░ 50% 500/~1000 | 250/s | ETA 2s | copied 498, skipped 1, invalid 1');
    expect(barLine(progressFigures(counts(5), undefined, undefined), 4)).toBe('backfill ░░░░ ?% 5/? | ?/s | ETA ? | copied 3, skipped 1, invalid 1');
  });

  it('formats time left as seconds, minutes or hours', () => {
    expect([formatDuration(0), formatDuration(42.4), formatDuration(185), formatDuration(3720), formatDuration(-3)]).toEqual(['0s', '42s', '3m05s', '1h02m', '0s']);
  });

  it('measures throughput over the recent window, and across a slow batch from the one before', () => {
    const window = new ThroughputWindow(10_000);
    expect(window.perSecond()).toBeUndefined();
    window.add(0, 0);
    expect(window.perSecond()).toBeUndefined();
    window.add(1000, 100);
    expect(window.perSecond()).toBe(100);
    // A faster pace later: the old samples leave the window.
    for (let t = 2000; t <= 20_000; t += 1000) window.add(t, 100 + ((t - 1000) / 1000) * 400);
    expect(window.perSecond()).toBe(400);
    // One batch took a minute: the rate spans it rather than vanishing.
    window.add(80_000, 7700 + 600);
    expect(window.perSecond()).toBe(10);
  });
});

describe('BackfillProgress on a stream', () => {
  it('not a terminal: plain lines (no escape sequences) at the start, every interval and at the end', async () => {
    const stream = new CapturedStream(false);
    const progress = new BackfillProgress(stream, { intervalMs: 50 });
    progress.start();
    progress.update(counts(100));
    progress.setTotal(400);
    await until(() => stream.text.split('\n').length > 3);
    progress.update(counts(400));
    progress.stop();
    const lines = stream.text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(stream.text).not.toContain(ESC);
    expect(lines[0]).toMatch(/^backfill: 0 of \? records/);
    expect(lines).toContainEqual(expect.stringMatching(/^backfill: 100 of ~400 records \(25%\), copied 98, skipped 1, invalid 1; /));
    expect(lines[lines.length - 1]).toMatch(/^backfill: 400 of ~400 records \(100%\), copied 398, skipped 1, invalid 1; \d+ records\/s, ETA 0s$/);

    // Stopped: the timer no longer writes.
    const written = stream.text.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(stream.text.length).toBe(written);
  });

  it('a terminal: one bar redrawn in place (cursor to column 1, rest of the line cleared), a newline only at the end', async () => {
    const stream = new CapturedStream(true, 120);
    const progress = new BackfillProgress(stream, { intervalMs: 50 });
    progress.start();
    progress.setTotal(1000);
    progress.update(counts(250));
    await until(() => stream.text.includes('25% 250/~1000'));
    progress.update(counts(1000));
    progress.stop();
    expect(stream.text).toContain(`${ESC}[1G`);
    expect(stream.text).toContain(`${ESC}[0K`);
    expect(stream.text).toMatch(/backfill █{8}░{22} 25% 250\/~1000 \| \S+\/s \| ETA \S+ \| copied 248, skipped 1, invalid 1/);
    expect(stream.text).toContain(`backfill ${'█'.repeat(30)} 100% 1000/~1000`);
    expect(stream.text.split('\n')).toHaveLength(2);
    expect(stream.text.endsWith('\n')).toBe(true);
  });

  it('a narrow terminal: the bar is cut to its width rather than wrapped onto new lines', () => {
    const stream = new CapturedStream(true, 40);
    const progress = new BackfillProgress(stream, { intervalMs: 50 });
    progress.start();
    progress.stop();
    const drawn = stream.text.split(`${ESC}[1G`).slice(1).map((s) => s.split(ESC)[0]);
    expect(drawn.length).toBeGreaterThan(0);
    expect(drawn.filter((s) => s.length > 40)).toEqual([]);
  });
});
