import { DebugSleepAction } from './debug-sleep.action.js';
import type { ActionContext } from './action.js';

/** A context whose progress reports are kept, and whose signal the test controls. */
function context(controller = new AbortController()) {
  const reports: [number, string | undefined][] = [];
  const ctx: ActionContext = { jobId: 'j1', workspaceId: 'acme', attempt: 1, signal: controller.signal, progress: (percent, message) => void reports.push([percent, message]) };
  return { ctx, reports, controller };
}

describe('debug.sleep', () => {
  const action = new DebugSleepAction();

  it('sleeps and reports nothing without progress_every_ms', async () => {
    const { ctx, reports } = context();
    await expect(action.run({ ms: 5 }, ctx)).resolves.toEqual({ slept_ms: 5 });
    expect(reports).toEqual([]);
  });

  it('reports progress after each step of progress_every_ms, ending at 100', async () => {
    const { ctx, reports } = context();
    await expect(action.run({ ms: 10, progress_every_ms: 4 }, ctx)).resolves.toEqual({ slept_ms: 10 });
    expect(reports).toEqual([
      [40, 'slept 4 of 10 ms'],
      [80, 'slept 8 of 10 ms'],
      [100, 'slept 10 of 10 ms'],
    ]);
  });

  it('stops sleeping when its signal is aborted (an AbortError carrying the reason), and reports no further', async () => {
    const { ctx, reports, controller } = context();
    const run = action.run({ ms: 60000, progress_every_ms: 1000 }, ctx);
    const reason = new Error('cancel requested');
    controller.abort(reason);
    await expect(run).rejects.toMatchObject({ name: 'AbortError', cause: reason });
    expect(reports).toEqual([]);
  });

  it('refuses params out of range without sleeping', async () => {
    const { ctx } = context();
    await expect(action.run({ ms: 60001 }, ctx)).rejects.toThrow('ms must be a whole number');
    await expect(action.run({ ms: 10, progress_every_ms: 0 }, ctx)).rejects.toThrow('progress_every_ms must be a whole number');
    await expect(action.run({ ms: 10, progress_every_ms: 1.5 }, ctx)).rejects.toThrow('progress_every_ms must be a whole number');
  });
});
