import type { ProgressResult } from '@relay/queue';
import { checkedReport, PROGRESS_MESSAGE_MAX_CHARS, ProgressThrottle, type ProgressReportFate } from './progress-throttle.js';

/** A throttle whose writes are recorded (and answered `answer`), with its own clock. */
function throttle(intervalMs: number, answer: ProgressResult = 'done') {
  const writes: [number, string][] = [];
  const fates: Record<ProgressReportFate, number> = { written: 0, superseded: 0, lost: 0, failed: 0 };
  let wrote: () => void = () => undefined;
  const clock = { now: 0 };
  const t = new ProgressThrottle(
    async (progress, message) => {
      writes.push([progress, message]);
      wrote();
      return answer;
    },
    intervalMs,
    (fate) => fates[fate]++,
    () => clock.now,
  );
  const nextWrite = () => new Promise<void>((resolve) => (wrote = resolve));
  const settled = () => new Promise((resolve) => setImmediate(resolve));
  return { t, writes, fates, clock, nextWrite, settled };
}

describe('ProgressThrottle', () => {
  it('writes the first report at once and, of 1,000 within the interval, only the last, at the end', async () => {
    const { t, writes, fates, settled } = throttle(60_000);
    for (let i = 1; i <= 1000; i++) t.report(i % 101, `step ${i}`);
    expect(writes).toEqual([[1, 'step 1']]);
    t.end();
    await settled();
    expect(writes).toEqual([
      [1, 'step 1'],
      [1000 % 101, 'step 1000'],
    ]);
    expect(fates).toEqual({ written: 2, superseded: 998, lost: 0, failed: 0 });
  });

  it('writes a report made within the interval when the interval ends, the latest one winning', async () => {
    const { t, writes, nextWrite } = throttle(30);
    t.report(10, 'a');
    const second = nextWrite();
    t.report(20, 'b');
    t.report(30, 'c');
    await second;
    expect(writes).toEqual([
      [10, 'a'],
      [30, 'c'],
    ]);
  });

  it('writes again at once once the interval has passed', () => {
    const { t, writes, clock } = throttle(1000);
    t.report(10);
    clock.now = 1000;
    t.report(20);
    expect(writes).toEqual([
      [10, ''],
      [20, ''],
    ]);
  });

  it('ignores reports after the attempt ended, and writes nothing at the end when nothing waits', async () => {
    const { t, writes, settled } = throttle(1000);
    t.report(50, 'half');
    t.end();
    t.report(60, 'late');
    t.end();
    await settled();
    expect(writes).toEqual([[50, 'half']]);
  });

  it('stops writing once a write finds the lease gone', async () => {
    const { t, writes, fates, clock, settled } = throttle(1000, 'lost');
    t.report(10);
    await settled();
    clock.now = 5000;
    t.report(20);
    t.end();
    await settled();
    expect(writes).toEqual([[10, '']]);
    expect(fates.lost).toBe(1);
  });
});

describe('checkedReport', () => {
  it('takes whole percentages 0-100 and refuses anything else', () => {
    expect(checkedReport(0, undefined)).toEqual({ progress: 0, message: '' });
    expect(checkedReport(100, 'done')).toEqual({ progress: 100, message: 'done' });
    for (const bad of [-1, 101, 1.5, Number.NaN, '50', null]) expect(() => checkedReport(bad, undefined)).toThrow(RangeError);
    expect(() => checkedReport(5, 42)).toThrow(TypeError);
  });

  it(`keeps the first ${PROGRESS_MESSAGE_MAX_CHARS} characters of a message, never half a character`, () => {
    const long = '😀'.repeat(PROGRESS_MESSAGE_MAX_CHARS + 5);
    const kept = checkedReport(1, long).message;
    expect(Array.from(kept)).toHaveLength(PROGRESS_MESSAGE_MAX_CHARS);
    expect(kept).toBe('😀'.repeat(PROGRESS_MESSAGE_MAX_CHARS));
  });
});
