/** Nearest-rank percentile (p in 0..100) of a list of numbers. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Rounds to `digits` significant digits (for JSON and the table). */
export function round(value: number, digits = 4): number {
  if (!Number.isFinite(value) || value === 0) return value;
  return Number(value.toPrecision(digits));
}

/** Times an async function, in milliseconds. */
export async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Runs `task(i)` for i in [0, total) with at most `inFlight` running at once. */
export async function runPool(total: number, inFlight: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(inFlight, total) }, async () => {
    while (next < total) {
      const i = next++;
      await task(i);
    }
  });
  await Promise.all(lanes);
}

/** Runs `task()` repeatedly with `inFlight` lanes until `durationMs` has passed; returns completed calls and the elapsed time. */
export async function runFor(durationMs: number, inFlight: number, task: () => Promise<unknown>): Promise<{ calls: number; elapsedMs: number }> {
  const start = Date.now();
  const end = start + durationMs;
  let calls = 0;
  const lanes = Array.from({ length: inFlight }, async () => {
    while (Date.now() < end) {
      await task();
      calls++;
    }
  });
  await Promise.all(lanes);
  return { calls, elapsedMs: Date.now() - start };
}
